/**
 * Concurrent reads of one expensive view (a workspace's status: a git process, the
 * queue, the state files) share one build, and each caller still gets a build that
 * started after it asked: a caller that arrives while a build runs waits for it and
 * joins the next one, which serves everyone who arrived meanwhile. Fifty dashboards
 * polling cost two builds at a time, and nobody reads state older than its request.
 */
export function createCoalescer<T>(): (key: string, build: () => Promise<T>) => Promise<T> {
  const slots = new Map<string, { running: Promise<T> | null; next: Promise<T> | null }>();
  return (key, build) => {
    const slot = slots.get(key) ?? { running: null, next: null };
    slots.set(key, slot);
    const start = (): Promise<T> => {
      const p = build();
      slot.running = p;
      const done = () => {
        if (slot.running === p) slot.running = null;
        if (!slot.running && !slot.next) slots.delete(key);
      };
      p.then(done, done);
      return p;
    };
    if (!slot.running) return start();
    slot.next ??= slot.running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        slot.next = null;
        return start();
      });
    return slot.next;
  };
}
