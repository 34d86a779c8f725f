/**
 * Where a client finds the user daemon's TCP API (DESIGN.md section 12): the listener
 * state the running daemon records in daemon-state.json (on or off, its port, why it is
 * down; the port may have been chosen by the daemon, `api.port: 0`) and the token file it
 * writes in the config directory. Read-only: a client never creates the token.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { UserPaths } from '../shared/user-paths.js';

export interface ApiEndpoint {
  enabled: boolean;
  listening: boolean;
  port: number | null;
  error: string | null;
}

/** The token file (0600), beside workspaces.json. */
export function apiTokenPath(up: UserPaths): string {
  return join(up.configDir, 'api-token');
}

/** The listener as the daemon with pid `pid` last recorded it; null before it has (or for another process's file). */
export async function readApiEndpoint(up: UserPaths, pid: number): Promise<ApiEndpoint | null> {
  let s: { pid?: unknown; api?: Partial<ApiEndpoint> | null };
  try {
    s = JSON.parse(await fs.readFile(up.daemonState, 'utf8')) as typeof s;
  } catch {
    return null;
  }
  if (s?.pid !== pid || !s.api || typeof s.api !== 'object') return null;
  const port = typeof s.api.port === 'number' && Number.isInteger(s.api.port) && s.api.port > 0 && s.api.port < 65536 ? s.api.port : null;
  return { enabled: s.api.enabled !== false, listening: s.api.listening === true, port, error: typeof s.api.error === 'string' ? s.api.error : null };
}

/** The token, or null when the file is missing or empty. */
export async function readApiToken(up: UserPaths): Promise<string | null> {
  const text = await fs.readFile(apiTokenPath(up), 'utf8').catch(() => '');
  return text.trim() || null;
}
