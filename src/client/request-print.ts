/**
 * request-sync's output (shared with the control-socket client, which loads only this).
 * `out` and `err` make each line printable (ctx.out / ctx.err, or the client's own).
 */
import type { SyncRequest } from '../core/request.js';

export function printRequest(
  out: (l: string) => void,
  err: (l: string) => void,
  opts: { json?: boolean; wait?: boolean },
  req: Pick<SyncRequest, 'id' | 'type' | 'priority'>,
  o: { status: string; result: string | null; message: string; resets_at?: string | null },
): void {
  if (opts.json) {
    // Exactly the contract's keys (DESIGN.md section 3); what a person would read (why it
    // was rejected, when the window resets) goes to stderr as a diagnostic.
    const obj: Record<string, unknown> = { id: req.id, status: o.status, type: req.type, priority: req.priority };
    if (opts.wait) obj.result = o.result;
    out(JSON.stringify(obj));
    if (o.status === 'rejected' || o.status === 'deferred' || o.result === 'failed' || o.result === 'conflict') err(`${o.status}: ${o.message}`);
    return;
  }
  const head = `${o.status}: ${req.type} request ${req.id} (${req.priority})`;
  const line =
    o.status === 'rejected'
      ? `${head}: ${o.message}`
      : o.result
        ? `${head}: ${o.result}; ${o.message}`
        : o.status === 'deferred'
          ? `${head}: ${o.message}`
          : head;
  (o.status === 'rejected' || o.result === 'failed' || o.result === 'conflict' ? err : out)(line);
}
