/**
 * The daemon loop's timing in-process, on a fake clock: the scheduler with recording
 * parts, and the real timing parts (remote probe, watchdog, config reload) on the same
 * clock. Every assertion is an exact list of the fake times at which something ran.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { defaultConfig, loadConfig, type Config } from '../../src/shared/config.js';
import type { QueueEntry } from '../../src/core/queue.js';
import type { ActiveOp } from '../../src/shared/state.js';
import type { Workspace } from '../../src/git/workspace.js';
import { silentLogger } from '../../src/shared/log.js';
import { createConfigReload } from '../../src/daemon/config-reload.js';
import type { ProbeReport } from '../../src/daemon/daemon-types.js';
import { createActivity, createRemoteProbe } from '../../src/daemon/remote-probe.js';
import { createScheduler, MAX_SLEEP_MS, type CycleParts, type SchedulerIntervals } from '../../src/daemon/scheduler.js';
import { runWithWatchdog, UNWIND_GRACE_MS } from '../../src/daemon/watchdog.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const S = 1000;
const MIN = 60 * S;
const cleanups: (() => void)[] = [];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

type Part = 'config' | 'health' | 'housekeeping' | 'pull' | 'reconcile' | 'probe' | 'process' | 'endCycle';

/** A scheduler whose parts record the fake time of each call. */
function harness(intervals: Partial<SchedulerIntervals> = {}, over: (clock: FakeClock, calls: Record<Part, number[]>) => Partial<CycleParts> = () => ({})) {
  const clock = new FakeClock(0);
  const ctl = new AbortController();
  const calls: Record<Part, number[]> = { config: [], health: [], housekeeping: [], pull: [], reconcile: [], probe: [], process: [], endCycle: [] };
  const at = (p: Part) => calls[p].push(clock.now());
  let pending: QueueEntry[] = [];
  const failures: unknown[] = [];
  const parts: CycleParts = {
    checkConfig: async () => void at('config'),
    health: async () => void at('health'),
    housekeeping: async () => void at('housekeeping'),
    readPending: async () => pending,
    pull: async () => void at('pull'),
    reconcile: async () => void at('reconcile'),
    probe: () => void at('probe'),
    process: { forced: () => false, retryAt: () => Infinity, run: async () => void at('process') },
    endCycle: async () => void at('endCycle'),
    cycleFailed: (e) => failures.push(e),
    ...over(clock, calls),
  };
  const s = createScheduler({
    clock,
    signal: ctl.signal,
    intervals: { processMs: 30 * S, healthMs: 5 * MIN, pullMs: 0, probeMs: 10 * S, ...intervals },
    parts,
  });
  let finished = false;
  const running = s.run().then(() => {
    finished = true;
  });
  stops.push(async () => {
    ctl.abort();
    await running;
  });
  return {
    clock,
    ctl,
    s,
    calls,
    failures,
    running,
    finished: () => finished,
    setPending: (p: QueueEntry[]) => {
      pending = p;
    },
  };
}

/** t, t + step, ... up to and including `to`. */
function every(step: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += step) out.push(t);
  return out;
}

describe('scheduler', () => {
  it('processes the queue at start, every process interval (30 s), and at once on each poke', async () => {
    const h = harness();
    await h.clock.advanceTo(29_999);
    expect(h.calls.process).toEqual([0]);
    await h.clock.advanceTo(30 * S);
    expect(h.calls.process).toEqual([0, 30 * S]);
    await h.clock.advanceTo(40 * S);
    h.s.poke();
    h.s.poke(); // two pokes before the loop wakes: one cycle
    await h.clock.advanceTo(40 * S);
    expect(h.calls.process).toEqual([0, 30 * S, 40 * S]);
    // A poke does not move the tick: housekeeping and reconcile stay on the 30 s grid.
    await h.clock.advanceTo(2 * MIN);
    expect(h.calls.process).toEqual([0, 30 * S, 40 * S, 60 * S, 90 * S, 120 * S]);
    expect(h.calls.housekeeping).toEqual(every(30 * S, 0, 2 * MIN));
    expect(h.calls.reconcile).toEqual(every(30 * S, 0, 2 * MIN));
    // Every cycle checks config.json first and ends with the state write.
    expect(h.calls.config).toEqual([0, 30 * S, 40 * S, 60 * S, 90 * S, 120 * S]);
    expect(h.calls.endCycle).toEqual(h.calls.config);
    expect(h.failures).toEqual([]);
  });

  it('runs the health check every 5 minutes, not on pokes', async () => {
    const h = harness();
    await h.clock.advanceTo(10 * S);
    h.s.poke();
    await h.clock.advanceTo(5 * MIN - 1);
    expect(h.calls.health).toEqual([0]);
    await h.clock.advanceTo(15 * MIN);
    expect(h.calls.health).toEqual([0, 5 * MIN, 10 * MIN, 15 * MIN]);
  });

  it('pulls every pull_interval_s instead of reconciling on that tick; no pull and no probe when pull_interval_s is 0', async () => {
    const h = harness({ pullMs: 5 * MIN });
    await h.clock.advanceTo(10 * MIN);
    expect(h.calls.pull).toEqual([0, 5 * MIN, 10 * MIN]);
    expect(h.calls.reconcile).toEqual(every(30 * S, 0, 10 * MIN).filter((t) => t % (5 * MIN) !== 0));
    const off = harness({ pullMs: 0 });
    await off.clock.advanceTo(10 * MIN);
    expect(off.calls.pull).toEqual([]);
    expect(off.calls.probe).toEqual([]);
  });

  it('retries processing at the time the processing part asks for (a deferred request, a back-off)', async () => {
    let retryAt = 45 * S;
    const h = harness({}, (clock, calls) => ({
      process: {
        forced: () => false,
        retryAt: () => retryAt,
        run: async () => {
          calls.process.push(clock.now());
          if (clock.now() >= 45 * S) retryAt = Infinity;
        },
      },
    }));
    await h.clock.advanceTo(2 * MIN);
    expect(h.calls.process).toEqual([0, 30 * S, 45 * S, 60 * S, 90 * S, 120 * S]);
  });

  it('a part that throws ends the cycle (logged), and the loop goes on at the next deadline', async () => {
    let fail = true;
    const h = harness({}, (clock, calls) => ({
      housekeeping: async () => {
        calls.housekeeping.push(clock.now());
        if (fail) throw new Error('corrupt state file');
      },
    }));
    await h.clock.advanceTo(0);
    expect(h.failures.map((e) => (e as Error).message)).toEqual(['corrupt state file']);
    expect(h.calls.process).toEqual([]); // the failed cycle went no further
    expect(h.calls.endCycle).toEqual([0]); // but its state was written
    fail = false;
    await h.clock.advanceTo(30 * S);
    expect(h.calls.process).toEqual([30 * S]);
  });

  it('never sleeps longer than MAX_SLEEP_MS, whatever the deadlines', async () => {
    const h = harness({ processMs: 24 * 60 * MIN, healthMs: 24 * 60 * MIN });
    await h.clock.advanceTo(0);
    expect(h.clock.nextAt()).toBe(MAX_SLEEP_MS);
    await h.clock.advanceTo(MAX_SLEEP_MS);
    expect(h.calls.config).toEqual([0, MAX_SLEEP_MS]);
    expect(h.calls.process).toEqual([0]); // woke to look, nothing was due
  });

  it('shutdown stops the loop and leaves no timer behind; stop() ends it after the current part', async () => {
    const h = harness();
    await h.clock.advanceTo(45 * S);
    expect(h.clock.pending()).toBe(1); // the sleep until the next tick
    h.ctl.abort();
    await h.running;
    expect(h.clock.pending()).toBe(0);
    const cycles = h.calls.config.length;
    await h.clock.advanceTo(10 * MIN);
    expect(h.calls.config).toHaveLength(cycles);

    const g = harness({}, (clock, calls) => ({
      health: async () => {
        calls.health.push(clock.now());
        if (clock.now() >= 5 * MIN) g.s.stop();
      },
    }));
    await g.clock.advanceTo(5 * MIN);
    await g.running;
    expect(g.calls.health).toEqual([0, 5 * MIN]);
    expect(g.calls.housekeeping.at(-1)).toBe(5 * MIN); // the cycle's parts before the check for stop ran
    expect(g.calls.process.at(-1)).toBe(4.5 * MIN); // processing did not
    expect(g.clock.pending()).toBe(0);
  });
});

describe('remote probe on the scheduler', () => {
  const config: Config = { ...defaultConfig(), poll_active_s: 10, active_window_s: 60, pull_interval_s: 300 };

  function probed(pendingQueue: () => QueueEntry[] = () => []) {
    const reports: ProbeReport[] = [];
    const probes: number[] = [];
    const moved: number[] = [];
    let tip = 'a'.repeat(40);
    const state = { paused_reason: null as string | null };
    const h = harness({ pullMs: config.pull_interval_s * S, probeMs: config.poll_active_s * S }, (clock, calls) => {
      const activity = createActivity(clock);
      const probe = createRemoteProbe({
        ws: {} as Workspace, // only handed to the probe function below
        config,
        clock,
        signal: new AbortController().signal,
        log: silentLogger,
        state,
        activity,
        probe: async () => {
          probes.push(clock.now());
          return { moved: tip !== 'a'.repeat(40), remote: tip, local: 'a'.repeat(40) };
        },
        onProbe: (r) => reports.push(r),
        onMoved: async () => void moved.push(clock.now()),
        stopping: () => false,
      });
      return {
        readPending: async () => pendingQueue(),
        probe: (t, pending) => probe.maybeProbe(t, pending),
        pull: async () => void calls.pull.push(clock.now()),
        endCycle: async () => void calls.endCycle.push(clock.now()),
        // A local change marks the workspace active, as the watcher's quiet period does.
        reconcile: async () => {
          if (markAt.includes(clock.now())) activity.mark();
        },
      };
    });
    const markAt: number[] = [];
    return {
      h,
      probes,
      reports,
      moved,
      state,
      markAt,
      moveTip: () => {
        tip = 'b'.repeat(40);
      },
    };
  }

  it('probes every poll_active_s while active, none once idle (the pull every pull_interval_s covers it), and again after a local change', async () => {
    const p = probed();
    await p.h.clock.advanceTo(10 * MIN);
    // Active for active_window_s (60 s) after the start: probes at 10..60 s.
    expect(p.probes).toEqual(every(10 * S, 10 * S, 60 * S));
    expect(p.h.calls.pull).toEqual([0, 5 * MIN, 10 * MIN]);
    // A local change at 10.5 min (seen before the probe of that cycle): active again until 11.5 min.
    p.markAt.push(10.5 * MIN);
    await p.h.clock.advanceTo(15 * MIN);
    expect(p.probes).toEqual([...every(10 * S, 10 * S, 60 * S), ...every(10 * S, 10.5 * MIN, 11.5 * MIN)]);
    // onProbe: once per probe, at the time it answered, with what it saw.
    expect(p.reports.map((r) => r.at)).toEqual(p.probes);
    expect(p.reports[0]).toEqual({ at: 10 * S, moved: false, remote: 'a'.repeat(40), local: 'a'.repeat(40) });
    expect(p.moved).toEqual([]);
  });

  it('a moved tip requests one sync; a pending request or a disk pause skips the probe', async () => {
    let queue: QueueEntry[] = [];
    const p = probed(() => queue);
    await p.h.clock.advanceTo(10 * S);
    p.moveTip();
    await p.h.clock.advanceTo(20 * S);
    expect(p.moved).toEqual([20 * S]);
    expect(p.reports.at(-1)).toMatchObject({ at: 20 * S, moved: true, remote: 'b'.repeat(40) });
    queue = [{} as QueueEntry]; // the sync it asked for is pending: it fetches anyway
    await p.h.clock.advanceTo(40 * S);
    expect(p.probes).toEqual([10 * S, 20 * S]);
    queue = [];
    p.state.paused_reason = 'low disk space';
    await p.h.clock.advanceTo(50 * S);
    expect(p.probes).toEqual([10 * S, 20 * S]);
    p.state.paused_reason = null;
    await p.h.clock.advanceTo(60 * S);
    expect(p.probes).toEqual([10 * S, 20 * S, 60 * S]);
    // A skipped probe still moves its deadline: one cycle per probe interval, never a busy loop.
    expect(p.h.calls.endCycle.filter((t) => t > 20 * S)).toEqual([30 * S, 40 * S, 50 * S, 60 * S]);
  });

  it('a probe that outlasts poll_active_s: no second one meanwhile, and the loop sleeps until its deadlines', async () => {
    let probes = 0;
    let answer: (() => void) | null = null;
    let close = () => {};
    const h = harness({ pullMs: 5 * MIN }, (clock) => {
      const probe = createRemoteProbe({
        ws: {} as Workspace,
        config,
        clock,
        signal: new AbortController().signal,
        log: silentLogger,
        state: { paused_reason: null },
        activity: createActivity(clock),
        probe: () => {
          probes++;
          return new Promise((resolve) => (answer = () => resolve({ moved: false, remote: null, local: null })));
        },
        onMoved: async () => {},
        stopping: () => false,
      });
      close = () => probe.close();
      return { probe: (t, pending) => probe.maybeProbe(t, pending) };
    });
    await h.clock.advanceTo(35 * S);
    expect(probes).toBe(1); // started at 10 s, still out at 20 s and 30 s
    expect(h.calls.endCycle).toEqual([0, 10 * S, 20 * S, 30 * S]);
    answer!();
    await h.clock.advanceTo(40 * S);
    expect(probes).toBe(2);
    close();
  });
});

describe('watchdog', () => {
  const started = new Date(0).toISOString();
  const active = (pid: number): ActiveOp =>
    ({ op: 'op-1', type: 'smart', step: 'push', started_at: started, pid, start_time: null, branch: 'main', backup_ref: null }) as ActiveOp;

  function watched(opts: { pid: number; unwinds: boolean }) {
    const clock = new FakeClock(0);
    const stuck: number[] = [];
    let abortReason: unknown = null;
    let result: string | null = null;
    const done = runWithWatchdog({
      clock,
      signal: new AbortController().signal,
      stuckMs: 60 * S,
      pid: 4242,
      readActive: async () => active(opts.pid),
      stuckError: (a) => new Error(`operation ${a.op} stuck in step ${a.step}`),
      onStuck: () => void stuck.push(clock.now()),
      run: (signal) =>
        new Promise<string>((resolve) => {
          signal.addEventListener('abort', () => {
            abortReason = signal.reason;
            if (opts.unwinds) resolve('unwound');
          });
        }),
    }).then((r) => {
      result = r;
    });
    return { clock, stuck, done, result: () => result, abortReason: () => abortReason };
  }

  it('aborts our own operation at the first check after stuck_timeout_s, once; it unwinds and no timer is left', async () => {
    const w = watched({ pid: 4242, unwinds: true });
    await w.clock.advanceTo(60 * S); // checks every 5 s; at 60 s it has run exactly 60 s: not more
    expect(w.stuck).toEqual([]);
    await w.clock.advanceTo(65 * S);
    expect(w.stuck).toEqual([65 * S]);
    expect((w.abortReason() as Error).message).toBe('operation op-1 stuck in step push');
    await w.done;
    expect(w.result()).toBe('unwound');
    expect(w.clock.pending()).toBe(0);
  });

  it(`gives an aborted operation that does not unwind up as hung after ${UNWIND_GRACE_MS / S} s`, async () => {
    const w = watched({ pid: 4242, unwinds: false });
    await w.clock.advanceTo(65 * S + UNWIND_GRACE_MS - 1);
    expect(w.stuck).toEqual([65 * S]);
    expect(w.result()).toBeNull();
    await w.clock.advanceTo(65 * S + UNWIND_GRACE_MS);
    await w.done;
    expect(w.result()).toBe('hung');
    expect(w.clock.pending()).toBe(0);
  });

  it("never aborts another process's operation", async () => {
    const w = watched({ pid: 1, unwinds: true });
    await w.clock.advanceTo(10 * MIN);
    expect(w.stuck).toEqual([]);
    expect(w.abortReason()).toBeNull();
    expect(w.clock.pending()).toBe(1); // still watching
  });
});

describe('config reload on the scheduler', () => {
  it('an invalid config.json is shown and the loop goes on; a valid change ends it with the new config, before processing', async () => {
    const { dir, cleanup } = makeTempDir('sc-sched-');
    cleanups.push(cleanup);
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ process_interval_s: 30 }));
    const running = await loadConfig(file);
    const state = { config_error: null as string | null };
    let next: Config | null = null;
    let stop = () => {};
    const reload = createConfigReload({
      file,
      running,
      load: () => loadConfig(file),
      state,
      log: silentLogger,
      restartWith: (c) => {
        next = c;
        stop();
      },
    });
    const h = harness({}, () => ({ checkConfig: () => reload.check() }));
    stop = () => h.s.stop();
    await waitFor(() => h.calls.endCycle.length === 1, { what: 'the first cycle' });
    expect(h.calls.process).toEqual([0]);

    writeFileSync(file, JSON.stringify({ process_interval_s: 30, debounce: 300 }));
    await h.clock.advanceTo(5 * S);
    h.s.poke(); // as the state directory's watch does
    await waitFor(() => state.config_error, { what: 'config_error' });
    expect(state.config_error).toMatch(/debounce/);
    await waitFor(() => h.calls.endCycle.length === 2, { what: 'the cycle after the invalid change' });
    expect(h.calls.process).toEqual([0, 5 * S]); // it kept serving
    expect(h.finished()).toBe(false);

    writeFileSync(file, JSON.stringify({ process_interval_s: 45 }));
    await h.clock.advanceTo(10 * S);
    h.s.poke();
    await h.running;
    expect(next).toMatchObject({ process_interval_s: 45 });
    expect(state.config_error).toBeNull();
    expect(h.calls.process).toEqual([0, 5 * S]); // the reload cycle served nothing with the old config
    expect(h.clock.pending()).toBe(0);
  });
});
