/**
 * One chaos run: `rounds` rounds of random edits, CLI processes (some SIGKILLed at a
 * random moment, only the node process: its git lives on as an orphan), a daemon that
 * is started and kill -9'd, and a remote (`git daemon`) that goes down and comes back.
 * Then everything is restarted, every clone syncs until two consecutive rounds change
 * nothing, and the invariants are checked. Returns the figures and every violation.
 */
import { type Dirent, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, killPid } from './procs.js';
import { modesFor, TARGET_STEPS, whenRunning, type KillMode, type Target } from './kills.js';
import { settle } from './settle.js';
import {
  checkConvergence,
  checkEngineGit,
  checkGitCalls,
  conflictOutcomes,
  logEvents,
  checkLeftovers,
  checkNoForcePush,
  checkNoMarkers,
  checkRequests,
  loggedCopies,
  countCommits,
  CONFLICT_COPY,
  finalTree,
  ledgerCheck,
  remoteFsck,
} from './checks.js';
import { MARKER_LINE, revParse } from './gitread.js';
import { Ledger, SHARED_FILES, SHARED_LINES } from './ledger.js';
import { createRng } from './prng.js';
import { TrustEvents } from './trust.js';
import { CLONES, type Clone, type Tracked, type World } from './world.js';

export interface ChaosOptions {
  rounds: number;
  seed: number;
  /** Progress lines (one per round). */
  log?: (line: string) => void;
  /** Max CLI processes started per round. */
  maxProcs?: number;
}

export interface ChaosFigures {
  seed: number;
  rounds: number;
  wall_ms: number;
  requests: number;
  requests_by_command: Record<string, number>;
  cli_kills: number;
  /**
   * Kills that waited for a moment of the victim's sync (kills.ts): `<target>` for a CLI,
   * `daemon:<target>` for the daemon.
   */
  kills_at_step: Record<string, number>;
  /** Those timed kills by mode: node only, node and its git, git only. */
  kills_by_mode: Record<KillMode, number>;
  daemon_starts: number;
  daemon_kills: number;
  remote_outages: number;
  edits_accepted: number;
  edits_concurrent: number;
  edits_superseded: number;
  edits_required: number;
  edits_lost: number;
  /** Own files deleted (the last action on them) that are back in the final tree. */
  deletes_undone: number;
  edits_in_conflict_copies: number;
  edits_skipped_busy: number;
  conflict_copies: number;
  conflicts_logged: number;
  /** Conflict copies in the final tree that no clone's conflicts.log names. */
  conflict_copies_unlogged: number;
  /** conflicts.log records by outcome (copy-created, auto-merged, kept-modified, ...). */
  conflict_outcomes: Record<string, number>;
  auto_merges: number;
  /** Work-tree reads (every file under shared/ and own/ of every clone, all run long). */
  worktree_samples: number;
  /** Issue 11: the rogue device's pushes of state files (accepted / tried). */
  state_pushes: number;
  state_push_attempts: number;
  nested_repos: number;
  ignored_files: number;
  remote_commits: number;
  remote_pushes: number;
  git_calls: number;
  exits: Record<string, number>;
  /** From the coordinator's logs: lock takeovers, crash recoveries, push retries, ... */
  coped: Record<string, number>;
  settle_iterations: number;
  violations: number;
}

export interface ChaosReport {
  figures: ChaosFigures;
  violations: string[];
  /** Soft findings worth a look that break no invariant. */
  notes: string[];
  /** Distinct failure messages of CLI runs (not violations; for the report). */
  failures: string[];
}

type Command = 'request-sync' | 'sync-now' | 'process';
const TYPES = ['intelligent-auto', 'smart', 'robust', 'manual', 'post-merge'] as const;

function at<T>(ms: number, fn: () => T | Promise<T>): Promise<T> {
  // The only timers here are the random delays of chaos actions (kills, edits, outages).
  return new Promise((resolve, reject) => setTimeout(() => Promise.resolve().then(fn).then(resolve, reject), ms));
}

export async function runChaos(world: World, opts: ChaosOptions): Promise<ChaosReport> {
  const rng = createRng(opts.seed);
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const ledger = new Ledger(opts.seed);
  const daemonClone = world.clone(rng.pick(CLONES));
  const tips: string[] = [revParse(world.sb.env, world.sb.remote, 'main')!];
  const accepted: Array<{ clone: Clone; id: string }> = [];
  const failures = new Map<string, number>();
  const exits: Record<string, number> = {};
  const byCommand: Record<string, number> = { 'request-sync': 0, 'sync-now': 0, process: 0 };
  const f = { cli_kills: 0, daemon_starts: 0, daemon_kills: 0, remote_outages: 0, concurrent: 0 };
  const violations: string[] = [];
  const killedAt: Record<string, number> = {};
  const byMode: Record<KillMode, number> = { node: 0, 'node+git': 0, git: 0 };
  /** Each timed kill, for the figures file (to line a violation up with a kill). */
  const killLog: string[] = [];
  const trust = new TrustEvents(world);

  // A reader of every work-tree file the syncs can write (as an editor or a watcher
  // would), all run long: it must never see a conflict marker (the user never types one
  // here). It also samples the devices' own state files (trust.ts).
  let sampling = true;
  let samples = 0;
  const markerSeen = new Set<string>();
  const sampler = (async () => {
    while (sampling) {
      for (const c of world.clones.values()) {
        for (const rel of listFiles(c.repo, ['shared', 'own'])) {
          let text = '';
          try {
            text = readFileSync(join(c.repo, rel), 'latin1');
          } catch {
            continue;
          }
          if (MARKER_LINE.test(text) && !markerSeen.has(`${c.name}/${rel}`)) {
            markerSeen.add(`${c.name}/${rel}`);
            violations.push(`markers: a conflict marker appeared in clone ${c.name}'s work-tree file ${rel} at ${new Date().toISOString()}`);
          }
        }
      }
      trust.sampleState();
      samples++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();

  /** Kill at a moment of `pid`'s sync (kills.ts); `killNode` kills the coordinator process. */
  const killAtMoment = async (
    c: Clone,
    pid: number,
    target: Target,
    mode: KillMode,
    done: () => boolean,
    killNode: () => boolean,
    label: string,
  ): Promise<boolean> => {
    const gits = await whenRunning(c, pid, target, done);
    if (gits === null || done()) return false;
    let killed = false;
    if (mode !== 'git') killed = killNode();
    if (mode !== 'node') for (const g of gits) killed = killPid(g) || killed;
    if (killed) {
      killedAt[`${label}${target}`] = (killedAt[`${label}${target}`] ?? 0) + 1;
      byMode[mode]++;
      killLog.push(
        `${new Date().toISOString()} clone ${c.name} ${label || 'cli:'}${target} (${mode}) pid ${pid}${gits.length ? ` git ${gits.join(',')}` : ''}`,
      );
    }
    return killed;
  };

  const noteFailure = (t: Tracked, code: number | null) => {
    const first = (
      t.stderr
        .trim()
        .split('\n')
        .find((l) => l.trim()) ??
      jsonMessage(t.stdout) ??
      `(no output, exit ${code})`
    )
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>')
      .replace(/\b\d{8}-\d{6}-[0-9a-f]{6}\b/g, '<op>')
      .replace(/pid \d+/g, 'pid N')
      .replace(/\d{13}-\d+-[0-9a-f]{8}/g, '<id>')
      .replace(/:\d{4,5}\//g, ':<port>/');
    const key = `${t.args[0]} exit ${code}: ${first.slice(0, 240)}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
    // Invariant 14: a sync never checks state files out, so no device's index tracks one
    // and none refuses to sync because of it (src/core/tracked-state.ts).
    if (/git tracks files in the state directory/.test(t.stderr + t.stdout))
      violations.push(
        `state files: ${t.args.join(' ')} in ${t.clone} refused because its index tracks state files (a sync checked them out): ${first.slice(0, 300)}`,
      );
  };

  const startDaemon = async () => {
    const r = await world.cli(daemonClone, ['daemon', 'start', '--json']);
    if (r.code === 0) f.daemon_starts++;
    else violations.push(`daemon start failed in ${daemonClone.name} (exit ${r.code}): ${r.stderr.trim().slice(0, 400)}`);
  };

  const randomEdit = (c: Clone, round: number, concurrent: boolean) => {
    const quiet = () => world.quiescent(c);
    const roll = rng.next();
    if (concurrent || roll < 0.6) {
      const action = roll < 0.3 || (concurrent && roll < 0.5) ? 'create' : roll < 0.5 || (concurrent && roll < 0.85) ? 'write' : 'delete';
      ledger.ownEdit(c.repo, c.name, round, action, (n) => rng.int(0, n - 1), concurrent);
      if (concurrent) f.concurrent++;
    } else if (roll < 0.95) {
      ledger.sharedLine(c.repo, c.name, round, rng.int(0, SHARED_FILES - 1), rng.int(0, SHARED_LINES - 1), quiet);
    } else {
      ledger.sharedDelete(c.repo, c.name, round, rng.int(0, SHARED_FILES - 1), quiet);
    }
  };

  for (let round = 1; round <= opts.rounds; round++) {
    const roundStart = Date.now();
    // 1. Edits in random clones while nothing runs there (shared files need quiet).
    for (const name of CLONES) {
      if (!rng.chance(0.75)) continue;
      const c = world.clone(name);
      for (let i = rng.int(1, 3); i > 0; i--) randomEdit(c, round, false);
      // Issue 11: the user adds an ignored file or a nested repository now and then.
      if (rng.chance(0.2)) trust.addIgnored(c);
      if (rng.chance(0.12)) trust.addNested(c, rng);
    }
    if (rng.chance(0.5)) {
      // The same line of the same file in 2-3 clones: a conflict at the next syncs.
      const file = rng.int(0, SHARED_FILES - 1);
      const line = rng.int(0, SHARED_LINES - 1);
      for (const name of rng.sample(CLONES, rng.int(2, 3))) {
        const c = world.clone(name);
        ledger.sharedLine(c.repo, name, round, file, line, () => world.quiescent(c));
      }
    }

    // 2. Faults: the daemon and the remote.
    const actions: Array<Promise<unknown>> = [];
    const daemonPid = world.daemonPid(daemonClone);
    if (daemonPid === null) {
      if (rng.chance(0.5)) await startDaemon();
    } else if (rng.chance(0.4)) {
      const kill = () => {
        if (world.daemonPid(daemonClone) === daemonPid) {
          process.kill(daemonPid, 'SIGKILL');
          f.daemon_kills++;
        }
      };
      if (rng.chance(0.5)) {
        actions.push(at(rng.int(0, 1500), kill));
      } else {
        // While it syncs: at a given moment, if it gets there within 3 s.
        const target = rng.pick(TARGET_STEPS);
        const mode = rng.pick(modesFor(target));
        const giveUp = Date.now() + 3000;
        actions.push(
          killAtMoment(
            daemonClone,
            daemonPid,
            target,
            mode,
            () => Date.now() > giveUp || !isAlive(daemonPid),
            () => {
              if (world.daemonPid(daemonClone) !== daemonPid) return false;
              process.kill(daemonPid, 'SIGKILL');
              f.daemon_kills++;
              return true;
            },
            'daemon:',
          ),
        );
      }
    }
    if (world.gitDaemon.running) {
      if (rng.chance(0.25)) {
        actions.push(
          at(rng.int(0, 1200), async () => {
            await world.gitDaemon.stop();
            f.remote_outages++;
          }),
        );
      }
    } else if (rng.chance(0.6)) {
      actions.push(at(rng.int(0, 1200), () => world.gitDaemon.start()));
    }

    // 3. CLI processes in random clones, some SIGKILLed at a random moment.
    const procs: Tracked[] = [];
    const n = rng.int(2, opts.maxProcs ?? 5);
    for (let i = 0; i < n; i++) {
      const c = world.clone(rng.pick(CLONES));
      const roll = rng.next();
      const cmd: Command = roll < 0.45 ? 'request-sync' : roll < 0.8 ? 'sync-now' : 'process';
      const args: string[] =
        cmd === 'request-sync'
          ? [
              'request-sync',
              rng.pick(TYPES),
              `chaos-${round}-${i}`,
              ...(rng.chance(0.3) ? [rng.pick(['critical', 'high', 'normal', 'low'])] : []),
              '--json',
              ...(rng.chance(0.2) ? ['--enqueue-only'] : rng.chance(0.2) ? ['--wait', '--timeout', '30'] : []),
            ]
          : cmd === 'sync-now'
            ? ['sync-now', '--json']
            : ['process', '--json'];
      const startDelay = rng.int(0, 600);
      // Half the kills land early (start-up, lock, commit), half during fetch/integrate/push.
      const killAfter = rng.chance(0.45) ? (rng.chance(0.5) ? rng.int(20, 400) : rng.int(400, 1500)) : null;
      // Other kills wait for a given moment of this process's sync (kills.ts).
      const killAtStep = killAfter === null && rng.chance(0.55) ? rng.pick(TARGET_STEPS) : null;
      const killMode = killAtStep ? rng.pick(modesFor(killAtStep)) : 'node';
      byCommand[cmd] = (byCommand[cmd] ?? 0) + 1;
      actions.push(
        at(startDelay, async () => {
          const t = world.start(c, args);
          procs.push(t);
          if (killAfter !== null) {
            setTimeout(() => {
              if (t.child.exitCode === null && t.child.signalCode === null) {
                t.child.kill('SIGKILL');
                f.cli_kills++;
              }
            }, killAfter);
          }
          if (killAtStep !== null && t.child.pid) {
            const pid = t.child.pid;
            const exited = () => t.child.exitCode !== null || t.child.signalCode !== null;
            void killAtMoment(
              c,
              pid,
              killAtStep,
              killMode,
              exited,
              () => {
                if (exited()) return false;
                t.child.kill('SIGKILL');
                f.cli_kills++;
                return true;
              },
              '',
            );
          }
          const deadline = setTimeout(() => {
            violations.push(`hung: ${args.join(' ')} in ${c.name} ran for more than 90 s (round ${round}); killed`);
            t.child.kill('SIGKILL');
          }, 90_000);
          const { code, signal } = await t.done;
          clearTimeout(deadline);
          const key = `${cmd}:${signal ?? code}`;
          exits[key] = (exits[key] ?? 0) + 1;
          if (signal) return;
          if (code !== 0) noteFailure(t, code);
          if (code !== 0 && code !== 1 && code !== 4)
            violations.push(`unexpected exit ${code} of ${args.join(' ')} in ${c.name} (round ${round}): ${t.stderr.trim().slice(0, 400)}`);
          if (cmd === 'request-sync' && code === 0) {
            try {
              accepted.push({ clone: c, id: (JSON.parse(t.stdout.trim().split('\n').pop() ?? '{}') as { id: string }).id });
            } catch {
              violations.push(`request-sync --json printed no JSON in ${c.name}: ${t.stdout.slice(0, 200)}`);
            }
          }
        }),
      );
    }

    // 4. Edits of own files while the syncs run (no other writer: any loss is the coordinator's).
    for (let i = rng.int(0, 3); i > 0; i--) {
      const c = world.clone(rng.pick(CLONES));
      actions.push(at(rng.int(0, 1500), () => randomEdit(c, round, true)));
    }
    // Issue 11 while the syncs run: ignored files and nested repositories appear, and the
    // rogue device pushes state files.
    if (rng.chance(0.3)) {
      const c = world.clone(rng.pick(CLONES));
      const nested = rng.chance(0.4);
      actions.push(at(rng.int(0, 1500), () => (nested ? trust.addNested(c, rng) : trust.addIgnored(c))));
    }
    if (rng.chance(0.35)) actions.push(at(rng.int(0, 1200), () => trust.roguePush(round)));

    await Promise.all(actions);
    tips.push(revParse(world.sb.env, world.sb.remote, 'main')!);
    log(
      `round ${round}/${opts.rounds}: ${procs.length} procs, daemon ${world.daemonPid(daemonClone) ? 'up' : 'down'}, remote ${world.gitDaemon.running ? 'up' : 'down'}, edits ${ledger.accepted}, ${Date.now() - roundStart} ms`,
    );
  }

  // ---- settle: restart everything, sync until quiet ------------------------------------
  const settled = await settle(world, daemonClone, startDaemon);
  sampling = false;
  await sampler;
  violations.push(...settled.violations);
  const iterations = settled.iterations;
  const remoteMain = revParse(world.sb.env, world.sb.remote, 'main')!;
  tips.push(remoteMain);

  // ---- the invariant check (a check that throws is itself reported, never hides others) ---
  const guard = async <T>(what: string, fn: () => T | Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      violations.push(`check "${what}" could not run: ${(e as Error).stack ?? String(e)}`);
      return fallback;
    }
  };
  violations.push(...(await guard('convergence', () => checkConvergence(world, remoteMain), [])));
  const files = await guard('final tree', () => finalTree(world, remoteMain), new Map<string, string>());
  const edits = await guard('edits', () => ledgerCheck(world, ledger, files, remoteMain), {
    violations: [],
    required: -1,
    lost: -1,
    deletesUndone: -1,
    notes: [],
    inCopies: -1,
  });
  violations.push(...edits.violations);
  if (ledger.skippedMarkers > 0)
    violations.push(`markers: the user found a conflict marker in a shared file ${ledger.skippedMarkers} time(s) (and skipped the edit)`);
  violations.push(...(await guard('engine git', () => checkEngineGit(world), [])));
  violations.push(...(await guard('trust', () => trust.check(), [])));
  const markers = await guard('markers', () => checkNoMarkers(world), { violations: [], notes: [] });
  violations.push(...markers.violations);
  const fp = await guard('force push', () => checkNoForcePush(world, tips), { violations: [], pushes: -1 });
  violations.push(...fp.violations);
  violations.push(...(await guard('leftovers', () => checkLeftovers(world), [])));
  violations.push(...(await guard('requests', () => checkRequests(accepted), [])));
  const calls = await guard('git calls', () => checkGitCalls(world), { violations: [], calls: -1 });
  violations.push(...calls.violations);
  violations.push(...(await guard('fsck', () => remoteFsck(world), [])));

  // Every conflict copy in the final tree is named in its device's conflicts.log, so
  // `conflicts` and `status` show it (DESIGN.md section 5).
  const logged = await guard('conflicts.log', () => loggedCopies(world), []);
  const loggedSet = new Set(logged);
  const unlogged = [...files.keys()].filter((p) => CONFLICT_COPY.test(p) && !loggedSet.has(p));
  for (const p of unlogged) violations.push(`conflict log: copy ${p} is in the final tree but in no clone's conflicts.log (not shown by "conflicts"/"status")`);
  // Soft findings: reported, not failing.
  const notes: string[] = [...markers.notes, ...edits.notes, ...killLog.map((k) => `timed kill: ${k}`)];
  const outcomes = await guard('conflict outcomes', () => conflictOutcomes(world), {} as Record<string, number>);
  const figures: ChaosFigures = {
    seed: opts.seed,
    rounds: opts.rounds,
    wall_ms: Date.now() - started,
    requests: Object.values(byCommand).reduce((a, b) => a + b, 0),
    requests_by_command: byCommand,
    cli_kills: f.cli_kills,
    kills_at_step: killedAt,
    kills_by_mode: byMode,
    daemon_starts: f.daemon_starts,
    daemon_kills: f.daemon_kills,
    remote_outages: f.remote_outages,
    edits_accepted: ledger.accepted,
    edits_concurrent: f.concurrent,
    edits_superseded: ledger.superseded.size,
    edits_required: edits.required,
    edits_lost: edits.lost,
    deletes_undone: edits.deletesUndone,
    edits_in_conflict_copies: edits.inCopies,
    edits_skipped_busy: ledger.skippedBusy + ledger.skippedMarkers + ledger.skippedAbsent,
    conflict_copies: [...files.keys()].filter((p) => CONFLICT_COPY.test(p)).length,
    conflicts_logged: logged.length,
    conflict_copies_unlogged: unlogged.length,
    conflict_outcomes: outcomes,
    auto_merges: outcomes['auto-merged'] ?? 0,
    worktree_samples: samples,
    state_pushes: trust.statePushes,
    state_push_attempts: trust.statePushAttempts,
    nested_repos: trust.nestedCount,
    ignored_files: trust.ignoredCount,
    remote_commits: await guard('commits', () => countCommits(world, remoteMain), -1),
    remote_pushes: fp.pushes,
    git_calls: calls.calls,
    exits,
    coped: await guard('log events', () => logEvents(world), {}),
    settle_iterations: iterations,
    violations: violations.length,
  };
  return { figures, violations, notes, failures: [...failures].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v}x ${k}`) };
}

/** Work-tree relative paths of the files under `dirs` (missing dirs are skipped). */
function listFiles(repo: string, dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(repo, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && p.endsWith('.txt')) out.push(p);
    }
  };
  for (const d of dirs) walk(d);
  return out;
}

/** The message of a `--json` result line (sync-now, process). */
function jsonMessage(stdout: string): string | null {
  const last = stdout.trim().split('\n').pop();
  if (!last) return null;
  try {
    const o = JSON.parse(last) as { message?: string; batches?: Array<{ message?: string; result?: string }> };
    return o.message ?? o.batches?.map((b) => `${b.result}: ${b.message}`).join('; ') ?? null;
  } catch {
    return null;
  }
}

/** Print the figures line (and write CHAOS_FIGURES_FILE when set). */
export function publishFigures(report: ChaosReport, env: NodeJS.ProcessEnv = process.env): void {
  const line = `CHAOS_FIGURES ${JSON.stringify(report.figures)}\n`;
  process.stdout.write(line);
  if (env.CHAOS_FIGURES_FILE)
    writeFileSync(
      env.CHAOS_FIGURES_FILE,
      JSON.stringify({ ...report.figures, failures: report.failures, notes: report.notes, violation_list: report.violations }, null, 2) + '\n',
    );
}
