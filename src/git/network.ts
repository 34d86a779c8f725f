/**
 * The deadline of every git command that talks to the remote (fetch, push, ls-remote):
 * config `network_timeout_s` (default 60). A remote that accepts the connection and
 * never answers is cut after it, not after `stuck_timeout_s` (the whole sync's bound).
 * The command is then a network failure: retried with backoff, counted by the breaker.
 */
import type { Config } from '../shared/config.js';
import type { GitRunOptions } from './git.js';

export function networkTimeoutMs(config: Pick<Config, 'network_timeout_s'>): number {
  return config.network_timeout_s * 1000;
}

/** Run options for a network git command: its deadline, and SIGKILL after the grace period. */
export function networkRunOptions(config: Pick<Config, 'network_timeout_s'>, extra: GitRunOptions = {}): GitRunOptions {
  return { ...extra, network: true, timeoutMs: networkTimeoutMs(config) };
}
