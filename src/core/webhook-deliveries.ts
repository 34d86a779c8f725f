/**
 * `webhook-deliveries.json` in a workspace's state directory: the last deliveries of
 * each webhook. The user daemon that delivers them writes it (atomically, one write at a
 * time); `status` and the API read it, so the deliveries are visible without the daemon.
 *
 * It never holds a secret: a hook is named by a hash of its URL and events, and its URL
 * is shown without credentials or query string (either may carry a token).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { loadConfig, type WebhookConfig } from '../shared/config.js';
import { userPaths } from '../shared/user-paths.js';

export const DELIVERIES_FILE = 'webhook-deliveries.json';
/** Deliveries kept per hook, newest first. */
export const DELIVERIES_KEPT = 100;

export interface DeliveryRecord {
  /** The delivery id (header X-Sync-Coordinator-Delivery). */
  id: string;
  event: string;
  /** The bus event id (the body's `id`). */
  event_id: number;
  /** When the first try started (or when it was dropped). */
  time: string;
  outcome: 'delivered' | 'failed' | 'dropped';
  /** HTTP status of the last try; null when no response came. */
  status: number | null;
  /** Why it was not delivered; null when delivered. */
  error: string | null;
  tries: number;
  duration_ms: number;
}

export interface HookDeliveries {
  id: string;
  url: string;
  events: string[];
  deliveries: DeliveryRecord[];
}

interface DeliveriesFile {
  version: 1;
  hooks: HookDeliveries[];
}

export function deliveriesPath(stateDir: string): string {
  return join(stateDir, DELIVERIES_FILE);
}

/** A stable short name for a hook that does not depend on its secret. */
export function hookId(hook: Pick<WebhookConfig, 'url' | 'events'>): string {
  return createHash('sha256')
    .update(`${hook.url}\0${[...hook.events].sort().join(',')}`)
    .digest('hex')
    .slice(0, 12);
}

/** The URL as it may be printed: scheme, host, port and path only. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

export async function readDeliveries(stateDir: string): Promise<HookDeliveries[]> {
  try {
    const raw = JSON.parse(await fs.readFile(deliveriesPath(stateDir), 'utf8')) as Partial<DeliveriesFile> | null;
    return raw && raw.version === 1 && Array.isArray(raw.hooks) ? raw.hooks.filter((h) => h && typeof h.id === 'string' && Array.isArray(h.deliveries)) : [];
  } catch {
    // Absent or unreadable: nothing delivered that we can show. The next delivery rewrites it.
    return [];
  }
}

/**
 * Add one delivery (newest first, DELIVERIES_KEPT per hook). A read-modify-write: the
 * one writer (the daemon's webhook dispatcher) runs them one at a time per file.
 */
export async function appendDelivery(stateDir: string, hook: Pick<WebhookConfig, 'url' | 'events'>, record: DeliveryRecord): Promise<void> {
  const hooks = await readDeliveries(stateDir);
  const id = hookId(hook);
  const entry = hooks.find((h) => h.id === id) ?? { id, url: displayUrl(hook.url), events: [...hook.events], deliveries: [] };
  if (!hooks.includes(entry)) hooks.push(entry);
  entry.deliveries.unshift(record);
  entry.deliveries.length = Math.min(entry.deliveries.length, DELIVERIES_KEPT);
  const data: DeliveriesFile = { version: 1, hooks };
  // Atomic but not fsynced: a record of past deliveries is not worth a disk flush per event.
  await writeFileAtomic(deliveriesPath(stateDir), JSON.stringify(data) + '\n', { fsync: false, fsyncDir: false });
}

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  /** Still in the config (false: only past deliveries remain). */
  configured: boolean;
  delivered: number;
  failed: number;
  dropped: number;
  last: DeliveryRecord | null;
  deliveries: DeliveryRecord[];
}

/** What `status` (key `webhooks`) and `GET .../webhooks` show: configured hooks first. */
export async function webhooksView(stateDir: string, configured: Pick<WebhookConfig, 'url' | 'events'>[]): Promise<{ hooks: WebhookView[] }> {
  const recorded = await readDeliveries(stateDir);
  const byId = new Map(recorded.map((h) => [h.id, h]));
  const seen = new Set<string>();
  const hooks: WebhookView[] = [];
  const add = (id: string, url: string, events: string[], deliveries: DeliveryRecord[], isConfigured: boolean) => {
    if (seen.has(id)) return;
    seen.add(id);
    const count = (o: DeliveryRecord['outcome']) => deliveries.filter((d) => d.outcome === o).length;
    hooks.push({
      id,
      url,
      events,
      configured: isConfigured,
      delivered: count('delivered'),
      failed: count('failed'),
      dropped: count('dropped'),
      last: deliveries[0] ?? null,
      deliveries,
    });
  };
  for (const h of configured) add(hookId(h), displayUrl(h.url), [...h.events], byId.get(hookId(h))?.deliveries ?? [], true);
  for (const h of recorded) add(h.id, h.url, h.events, h.deliveries, false);
  return { hooks };
}

/** The hooks of the user's global config.json (they apply to every workspace); none when it is absent or invalid. */
export async function globalWebhooks(env: NodeJS.ProcessEnv = process.env): Promise<WebhookConfig[]> {
  return loadConfig(userPaths(env).config).then(
    (c) => c.webhooks,
    () => [],
  );
}
