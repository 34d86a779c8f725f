/**
 * What a client needs to reach the user daemon's TCP API (DESIGN.md section 12): whether
 * it is on, its port (the `api` key of the user's global config.json) and the token file
 * the daemon writes in the config directory. Read-only: a client never creates the
 * token, the daemon does when its API starts.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import type { UserPaths } from '../user/user-paths.js';

export const DEFAULT_API_PORT = 7341;

export interface ApiSettings {
  enabled: boolean;
  port: number;
  configFile: string;
  tokenFile: string;
  /** null when the file is missing or empty. */
  token: string | null;
}

export function apiTokenPath(up: UserPaths): string {
  return join(up.configDir, 'api-token');
}

export async function readApiSettings(up: UserPaths): Promise<ApiSettings> {
  let api: { enabled?: unknown; port?: unknown } = {};
  const text = await fs.readFile(up.config, 'utf8').catch(() => null);
  if (text !== null) {
    try {
      api = ((JSON.parse(text) as { api?: typeof api } | null)?.api ?? {}) as typeof api;
    } catch (e) {
      throw new ConfigError(`${up.config} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const port = api.port === undefined ? DEFAULT_API_PORT : api.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError(`api.port in ${up.config} must be an integer from 1 to 65535`);
  const tokenFile = apiTokenPath(up);
  const token = ((await fs.readFile(tokenFile, 'utf8').catch(() => '')) as string).trim();
  return { enabled: api.enabled !== false, port, configFile: up.config, tokenFile, token: token || null };
}
