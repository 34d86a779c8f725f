/** The message of anything thrown, for a log field or a state file (the daemon's parts share it). */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
