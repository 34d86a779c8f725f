/** The id of one sync operation: sortable by time (UTC, to the second) and unique (random suffix). */
import { randomBytes } from 'node:crypto';

export function newOpId(now = Date.now()): string {
  const d = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${d}-${randomBytes(3).toString('hex')}`;
}
