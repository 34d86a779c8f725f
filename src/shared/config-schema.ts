import { z } from 'zod';
import { EVENT_TYPES } from './events.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
/** Device names end up in file names (conflict copies) and commit messages. */
const deviceName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" or "_" (1-64)');
/** Remote and branch names must never look like options (invariant 11). */
const refName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._/-]*$/, 'a plain name that does not start with "-"')
  .refine((s) => !s.includes('..') && !s.endsWith('.lock') && !s.endsWith('/'), 'a valid git ref name');

/** The event types a webhook can ask for: exactly the bus's. */
export const WEBHOOK_EVENT_TYPES = EVENT_TYPES;

/** Webhook targets: plain http(s) only, so no file:, data: or other scheme reaches a request. */
const webhookUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
    } catch {
      return false;
    }
  }, 'an http:// or https:// URL');

// Issue messages never quote the value: a secret in a wrong place must not be printed.
const webhook = z.strictObject({
  url: webhookUrl,
  events: z.array(z.enum([...WEBHOOK_EVENT_TYPES, '*'])).min(1, 'a non-empty list of event types (or "*")'),
  secret: z.string().min(16, 'a string of at least 16 characters').max(4096, 'at most 4096 characters'),
});

export const configSchema = z.strictObject({
  max_syncs_per_hour: int(1, 10_000).optional(),
  hour_reset_time: z.union([z.literal('auto'), z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, '"auto" or HH:MM')]).optional(),
  rate_limiting_enabled: z.boolean().optional(),
  burst_capacity: int(0, 10_000).optional(),
  remote: refName.optional(),
  branch: refName.nullable().optional(),
  device_name: deviceName.nullable().optional(),
  debounce_ms: int(0, 3_600_000).optional(),
  max_wait_ms: int(0, 86_400_000).optional(),
  process_interval_s: int(1, 86_400).optional(),
  pull_interval_s: int(0, 86_400).optional(),
  health_interval_s: int(1, 86_400).optional(),
  stuck_timeout_s: int(1, 86_400).optional(),
  network_timeout_s: int(1, 86_400).optional(),
  lock_timeout_ms: int(0, 3_600_000).optional(),
  lock_stale_ms: int(2_000, 3_600_000).optional(),
  retries: z
    .strictObject({
      default: int(0, 100).optional(),
      robust: int(0, 100).optional(),
      min_delay_ms: int(0, 3_600_000).optional(),
      max_delay_ms: int(0, 3_600_000).optional(),
    })
    .optional(),
  breaker: z
    .strictObject({
      failure_threshold: int(1, 1000).optional(),
      cooldown_s: int(1, 86_400).optional(),
    })
    .optional(),
  system_files: z.array(z.string().min(1).max(1024)).optional(),
  user_conflict_policy: z.enum(['conflict-copy', 'manual']).optional(),
  watch: z
    .strictObject({
      enabled: z.boolean().optional(),
      ignore: z.array(z.string().min(1).max(1024)).optional(),
    })
    .optional(),
  max_file_size_mb: z.number().positive().max(1_000_000).optional(),
  merge: z
    .array(
      z.strictObject({
        glob: z.string().min(1).max(1024),
        strategy: z.enum(['text', 'json', 'union', 'text-newest', 'copy']),
      }),
    )
    .max(1000)
    .optional(),
  max_parallel_syncs: int(1, 64).optional(),
  poll_active_s: int(1, 86_400).optional(),
  active_window_s: int(0, 86_400 * 30).optional(),
  webhooks: z.array(webhook).max(50).optional(),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'silent']).optional(),
      max_size_mb: int(1, 10_000).optional(),
      max_files: int(1, 1000).optional(),
    })
    .optional(),
  backups: z
    .strictObject({
      keep: int(0, 100_000).optional(),
      max_age_days: int(0, 36_500).optional(),
    })
    .optional(),
  /** Port 0: any free port, shown by `daemon status` and GET /workspaces. */
  api: z
    .strictObject({
      enabled: z.boolean().optional(),
      port: int(0, 65_535).optional(),
    })
    .optional(),
});

export function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (at ? `${at}.${k}` : k));
    return `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')} (see README "Configuration" for the valid keys)`;
  }
  return `"${at || '(root)'}": ${issue.message}`;
}
