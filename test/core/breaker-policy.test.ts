import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recordRemoteOutcome, remoteAccess } from '../../src/core/breaker-policy.js';
import { type Config, defaultConfig } from '../../src/shared/config.js';
import { RemoteUnavailableError, SyncFailedError } from '../../src/shared/errors.js';
import { openStateStore, type StateStore } from '../../src/shared/state.js';
import { silentLogger } from '../../src/shared/log.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const t0 = Date.parse('2026-12-06T10:00:00Z');
const config: Config = { ...defaultConfig(), remote: 'origin', breaker: { ...defaultConfig().breaker, failure_threshold: 2, cooldown_s: 60 } };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
async function store(): Promise<{ store: StateStore; file: string }> {
  const { dir: d, cleanup } = makeTempDir('sc-breaker-');
  cleanups.push(cleanup);
  const file = join(d, 'coordinator-state.json');
  return { store: await openStateStore(file, silentLogger), file };
}
/** What the next process sees: the breaker as persisted, not as held in memory. */
function persisted(file: string) {
  return JSON.parse(readFileSync(file, 'utf8')).breakers.origin;
}
const netFail = () => new RemoteUnavailableError('could not reach the remote: Connection refused');

describe('circuit breaker policy (invariant 7)', () => {
  it('a closed breaker gives normal access; failures below the threshold keep it closed', async () => {
    const { store: s, file } = await store();
    expect(remoteAccess(s.get(), config, t0)).toEqual({ kind: 'normal' });
    await recordRemoteOutcome(s, config, silentLogger, t0, netFail());
    expect(persisted(file)).toMatchObject({ state: 'closed', failures: 1 });
    expect(remoteAccess(s.get(), config, t0 + 1)).toEqual({ kind: 'normal' });
  });

  it('opens at the threshold: the sync skips the remote and says why and until when; then one try without retries', async () => {
    const { store: s, file } = await store();
    await recordRemoteOutcome(s, config, silentLogger, t0, netFail());
    await recordRemoteOutcome(s, config, silentLogger, t0 + 1000, netFail());
    const until = new Date(t0 + 1000 + 60_000).toISOString();
    expect(persisted(file)).toMatchObject({ state: 'open', failures: 2, open_until: until });
    const reopened = await openStateStore(file, silentLogger);
    const access = remoteAccess(reopened.get(), config, t0 + 2000);
    expect(access).toMatchObject({ kind: 'skip', until });
    expect(access.kind === 'skip' && access.reason).toBe(
      'circuit breaker open after 2 consecutive failed syncs; last error: could not reach the remote: Connection refused',
    );
    // The cooldown is over: exactly one half-open try.
    expect(remoteAccess(reopened.get(), config, t0 + 1000 + 60_000)).toEqual({ kind: 'single-try' });
  });

  it('a failed half-open try opens it again at once; a success closes it', async () => {
    const { store: s, file } = await store();
    await recordRemoteOutcome(s, config, silentLogger, t0, netFail());
    await recordRemoteOutcome(s, config, silentLogger, t0, netFail());
    const probe = t0 + 61_000;
    await recordRemoteOutcome(s, config, silentLogger, probe, netFail());
    expect(persisted(file)).toMatchObject({ state: 'open', failures: 3, open_until: new Date(probe + 60_000).toISOString() });
    expect(remoteAccess(s.get(), config, probe + 1).kind).toBe('skip');
    await recordRemoteOutcome(s, config, silentLogger, probe + 61_000, null);
    expect(persisted(file)).toMatchObject({ state: 'closed', failures: 0, open_until: null });
    expect(remoteAccess(s.get(), config, probe + 61_001)).toEqual({ kind: 'normal' });
  });

  it('only network failures count: another failure leaves the breaker as it was', async () => {
    const { store: s, file } = await store();
    await recordRemoteOutcome(s, config, silentLogger, t0, netFail());
    await recordRemoteOutcome(s, config, silentLogger, t0 + 1, new SyncFailedError('pre-commit hook failed', { code: 'EHOOK' }));
    expect(persisted(file)).toMatchObject({ state: 'closed', failures: 1 });
  });

  it('a network failure after the local commit landed says so, and the breaker keeps the remote error alone', async () => {
    const { store: s, file } = await store();
    const e = netFail();
    e.committedLocally = true;
    await recordRemoteOutcome(s, config, silentLogger, t0, e);
    expect(e.message).toBe('committed locally, but could not reach the remote: Connection refused');
    expect(persisted(file).last_error).toBe('could not reach the remote: Connection refused');
    const plain = netFail();
    await recordRemoteOutcome(s, config, silentLogger, t0, plain);
    expect(plain.message).toBe('could not reach the remote: Connection refused');
  });
});
