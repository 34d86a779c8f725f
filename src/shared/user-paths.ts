/**
 * The user-level files of the user daemon (DESIGN.md section 11): the registry in the
 * config home, daemon.pid and daemon.log in the state home, the control socket in the
 * runtime directory (the state home when XDG_RUNTIME_DIR is unset). Relative XDG
 * values are ignored, as the XDG spec says.
 */
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface UserPaths {
  configDir: string;
  registry: string;
  /** Global defaults for the user daemon's own keys (max_parallel_syncs, ...). */
  config: string;
  /** The HTTP API's bearer token (0600, created by the user daemon's first start). */
  apiToken: string;
  stateDir: string;
  daemonPid: string;
  daemonLog: string;
  daemonState: string;
  runtimeDir: string;
  socket: string;
}

const APP = 'sync-coordinator';

function xdg(env: NodeJS.ProcessEnv, key: string, fallback: string): string {
  const v = env[key];
  return v?.startsWith('/') ? v : fallback;
}

export function userPaths(env: NodeJS.ProcessEnv = process.env): UserPaths {
  const home = env.HOME?.startsWith('/') ? env.HOME : homedir();
  const configDir = join(xdg(env, 'XDG_CONFIG_HOME', join(home, '.config')), APP);
  const stateDir = join(xdg(env, 'XDG_STATE_HOME', join(home, '.local', 'state')), APP);
  const runtimeBase = env.XDG_RUNTIME_DIR?.startsWith('/') ? join(env.XDG_RUNTIME_DIR, APP) : stateDir;
  return {
    configDir,
    registry: join(configDir, 'workspaces.json'),
    config: join(configDir, 'config.json'),
    apiToken: join(configDir, 'api-token'),
    stateDir,
    daemonPid: join(stateDir, 'daemon.pid'),
    daemonLog: join(stateDir, 'daemon.log'),
    daemonState: join(stateDir, 'daemon-state.json'),
    runtimeDir: runtimeBase,
    socket: join(runtimeBase, 'control.sock'),
  };
}

/**
 * A workspace's id: 12 hex digits of the SHA-256 of its real path. Stable across runs
 * and short enough for URLs and metric labels; the path itself never appears in a route.
 */
export function workspaceId(realRoot: string): string {
  return createHash('sha256').update(realRoot).digest('hex').slice(0, 12);
}
