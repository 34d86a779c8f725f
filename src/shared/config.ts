/**
 * config.json: optional, merged over the defaults key by key, validated with zod.
 * Unknown keys at any depth and bad values are errors that name the key (exit 2).
 * zod costs ~40 ms to import, so it is loaded only when a config file exists.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from './errors.js';
import { packageVersion } from './package-root.js';

export type SyncType = 'intelligent-auto' | 'smart' | 'robust' | 'manual' | 'post-merge';
export type Priority = 'critical' | 'high' | 'normal' | 'low';

export type MergeStrategy = 'text' | 'json' | 'union' | 'text-newest' | 'copy';
export interface MergeRule {
  glob: string;
  strategy: MergeStrategy;
}

export const DEFAULT_MERGE_RULES: readonly MergeRule[] = [
  { glob: '*.{json,jsonc}', strategy: 'json' },
  { glob: '{*.log,*.jsonl,*.ndjson,CHANGELOG*,HISTORY*,History*}', strategy: 'union' },
  { glob: '*', strategy: 'text' },
];

/** A signed webhook (DESIGN.md section 12): events POSTed as JSON, signed with `secret`. */
export interface WebhookConfig {
  url: string;
  /** Bus event types, or "*" for all but `probe`. */
  events: string[];
  secret: string;
}

export interface Config {
  max_syncs_per_hour: number;
  hour_reset_time: 'auto' | string;
  rate_limiting_enabled: boolean;
  burst_capacity: number;
  remote: string;
  branch: string | null;
  device_name: string | null;
  debounce_ms: number;
  max_wait_ms: number;
  process_interval_s: number;
  pull_interval_s: number;
  health_interval_s: number;
  stuck_timeout_s: number;
  /** Deadline for one git command that talks to the remote (fetch, push, ls-remote). */
  network_timeout_s: number;
  lock_timeout_ms: number;
  lock_stale_ms: number;
  retries: { default: number; robust: number; min_delay_ms: number; max_delay_ms: number };
  breaker: { failure_threshold: number; cooldown_s: number };
  system_files: string[];
  user_conflict_policy: 'conflict-copy' | 'manual';
  watch: { enabled: boolean; ignore: string[] };
  /** Files larger than this are never committed by a sync (invariant 16). */
  max_file_size_mb: number;
  /** Merge strategies by path, first matching glob wins (DESIGN.md section 13). */
  merge: MergeRule[];
  /** User daemon: git work across workspaces at once (DESIGN.md section 11). */
  max_parallel_syncs: number;
  /** Remote probe interval while the workspace is active. */
  poll_active_s: number;
  /** A workspace is active for this long after a local change or a sync. */
  active_window_s: number;
  /** Signed webhooks; the global config's apply to every workspace as well. */
  webhooks: WebhookConfig[];
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'; max_size_mb: number; max_files: number };
  backups: { keep: number; max_age_days: number };
  /** User daemon: the HTTP API on 127.0.0.1:<port> (DESIGN.md section 12); global config only. */
  api: { enabled: boolean; port: number };
}

export function defaultConfig(): Config {
  return {
    max_syncs_per_hour: 12,
    hour_reset_time: 'auto',
    rate_limiting_enabled: true,
    burst_capacity: 3,
    remote: 'origin',
    branch: null,
    device_name: null,
    debounce_ms: 2000,
    max_wait_ms: 30000,
    process_interval_s: 30,
    pull_interval_s: 300,
    health_interval_s: 300,
    stuck_timeout_s: 600,
    network_timeout_s: 60,
    lock_timeout_ms: 30000,
    lock_stale_ms: 10000,
    retries: { default: 4, robust: 8, min_delay_ms: 500, max_delay_ms: 30000 },
    breaker: { failure_threshold: 5, cooldown_s: 300 },
    system_files: ['.claude/**'],
    user_conflict_policy: 'conflict-copy',
    watch: { enabled: true, ignore: [] },
    max_file_size_mb: 50,
    merge: DEFAULT_MERGE_RULES.map((r) => ({ ...r })),
    max_parallel_syncs: 2,
    poll_active_s: 10,
    active_window_s: 600,
    webhooks: [],
    log: { level: 'info', max_size_mb: 10, max_files: 5 },
    backups: { keep: 50, max_age_days: 14 },
    api: { enabled: true, port: 7341 },
  };
}

/** Read and validate config.json; absent means defaults. */
export async function loadConfig(file: string): Promise<Config> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return defaultConfig();
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${withoutSnippet((e as Error).message, text)}`);
  }
  // zod costs ~40 ms per process; a config whose exact bytes already validated is
  // merged without it. The stamp holds the hash of the last content that validated, with
  // this install's version: a new version (maybe a new schema) validates again.
  const stamp = join(dirname(file), '.config-validated');
  const hash = createHash('sha256').update(`${packageVersion()}\0`).update(text).digest('hex');
  if ((await fs.readFile(stamp, 'utf8').catch(() => '')) === hash) return mergeConfig(defaultConfig(), raw as Partial<Config>);
  const config = await parseConfig(raw, file);
  await fs.writeFile(stamp, hash).catch(() => {});
  return config;
}

export async function parseConfig(raw: unknown, source = 'config.json'): Promise<Config> {
  const { configSchema, describeIssue } = await import('./config-schema.js');
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const first = result.error.issues[0];
    throw new ConfigError(`invalid ${source}: ${first ? describeIssue(first) : 'unknown error'}`);
  }
  return mergeConfig(defaultConfig(), result.data as Partial<Config>);
}

function mergeConfig(base: Config, over: Partial<Config>): Config {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = (base as unknown as Record<string, unknown>)[key];
    if (value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)) {
      out[key] = { ...(current as object), ...(value as object) };
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  return out as unknown as Config;
}

/**
 * V8's JSON errors quote a few characters around the error ("Unexpected token 'x',
 * ..."secret": abc"... is not valid JSON"): in a file with a webhook secret those can
 * be the secret's, and config errors are printed and logged.
 */
function withoutSnippet(message: string, text: string): string {
  if (!text.includes('"secret"')) return message;
  return message.replace(/^Unexpected .* is not valid JSON$/s, 'an unexpected character (the text around it is not shown: the file holds a webhook secret)');
}
