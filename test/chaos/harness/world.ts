/**
 * The chaos world: one bare remote served by a real `git daemon` on 127.0.0.1 and three
 * clones of it, each `init`ed with a fast, fault-friendly config and its own git
 * recorder first on PATH (to check invariants 1 and 12 afterwards). Tracks every
 * process it starts so that `dispose()` can stop all of them, even after a failure.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, waitFor, type CliResult } from '../../helpers/cli.js';
import { startGitDaemon, type GitDaemon } from '../../helpers/git-daemon.js';
import { makeSandbox, type Sandbox } from '../../helpers/git-fixture.js';
import { makeGitRecorder, type GitRecorder } from '../../helpers/git-recorder.js';
import { sharedBase, sharedPath, SHARED_FILES } from './ledger.js';
import { daemonProcessesIn, isAlive, killPid, liveGitIn, liveProcessesIn } from './procs.js';
import { IGNORE_GLOBS, OWN_STATE_FILES } from './device-files.js';

export const STATE_DIR = '.claude/sync-coordination';
export const CLONES = ['a', 'b', 'c'] as const;
export type CloneName = (typeof CLONES)[number];

export const BREAKER = { failure_threshold: 3, cooldown_s: 2 };

export function chaosConfig(clone: string): Record<string, unknown> {
  return {
    device_name: `dev${clone.toUpperCase()}`,
    rate_limiting_enabled: false,
    lock_timeout_ms: 20_000,
    retries: { default: 2, robust: 3, min_delay_ms: 50, max_delay_ms: 300 },
    breaker: BREAKER,
    watch: { enabled: false, ignore: IGNORE_GLOBS },
    process_interval_s: 2,
    pull_interval_s: 4,
    stuck_timeout_s: 60,
    log: { level: 'debug' },
  };
}

export interface Clone {
  name: CloneName;
  repo: string;
  env: NodeJS.ProcessEnv;
  recorder: GitRecorder;
  state: string;
}

export interface Tracked {
  child: ChildProcess;
  clone: CloneName;
  args: string[];
  stdout: string;
  stderr: string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class World {
  readonly sb: Sandbox;
  gitDaemon!: GitDaemon;
  readonly clones = new Map<CloneName, Clone>();
  /** A plain git clone with no coordinator: the rogue device of issue 11 (trust.ts). */
  rogueRepo = '';
  /** `<clone>/<file>` → the bytes of each device's own state files (device-files.ts OWN_STATE_FILES). */
  readonly ownState = new Map<string, Buffer>();
  private readonly children = new Set<ChildProcess>();
  private disposed = false;

  private constructor(sb: Sandbox) {
    this.sb = sb;
  }

  static async create(): Promise<World> {
    const sb = makeSandbox('sc-chaos-');
    const w = new World(sb);
    try {
      await w.setup();
    } catch (e) {
      await w.dispose(false);
      throw e;
    }
    return w;
  }

  private async setup(): Promise<void> {
    const { sb } = this;
    // Every update of the remote's refs goes to its reflog: the force-push check reads it.
    sb.git(sb.remote, 'config', 'core.logAllRefUpdates', 'always');
    this.gitDaemon = await startGitDaemon(sb.dir, sb.env);
    for (const name of CLONES) {
      const repo = sb.clone(name);
      if (name === 'a') {
        for (let i = 0; i < SHARED_FILES; i++) {
          mkdirSync(join(repo, 'shared'), { recursive: true });
          writeFileSync(join(repo, sharedPath(i)), sharedBase(i).join('\n') + '\n');
        }
        sb.git(repo, 'add', '-A');
        sb.git(repo, 'commit', '-q', '-m', 'shared files');
        sb.git(repo, 'push', '-q', 'origin', 'main');
      }
      sb.git(repo, 'remote', 'set-url', 'origin', this.gitDaemon.url('remote.git'));
      sb.git(repo, 'fetch', '-q', 'origin');
      sb.git(repo, 'reset', '-q', '--hard', 'origin/main');
      sb.git(repo, 'branch', '-q', '--set-upstream-to=origin/main', 'main');
      const recorder = makeGitRecorder(join(sb.dir, `recorder-${name}`));
      const env = { ...sb.env, PATH: `${recorder.binDir}:${sb.env.PATH}` };
      const clone: Clone = { name, repo, env, recorder, state: join(repo, STATE_DIR) };
      const init = await this.cli(clone, ['init']);
      if (init.code !== 0) throw new Error(`init in ${name} failed: ${init.stderr}`);
      writeFileSync(join(clone.state, 'config.json'), JSON.stringify(chaosConfig(name), null, 2));
      // The device's own hook script in the state directory (where versions before 0.2
      // kept theirs): the rogue device pushes one to the same path.
      mkdirSync(join(clone.state, 'hooks'), { recursive: true });
      writeFileSync(join(clone.state, 'hooks', 'post-merge.sh'), `#!/bin/sh\n# device ${name}'s own post-merge script\nexit 0\n`);
      for (const rel of OWN_STATE_FILES) this.ownState.set(`${name}/${rel}`, readFileSync(join(clone.state, rel)));
      this.clones.set(name, clone);
    }
    // The rogue device talks to the bare repository directly (never down).
    this.rogueRepo = sb.clone('rogue');
  }

  clone(name: CloneName): Clone {
    const c = this.clones.get(name);
    if (!c) throw new Error(`no clone ${name}`);
    return c;
  }

  /** Run the CLI to completion (tracked, so dispose() can stop it). */
  cli(clone: Clone, args: string[], timeoutMs = 120_000): Promise<CliResult> {
    return runCli(args, { cwd: clone.repo, env: clone.env, timeoutMs });
  }

  /** Start a CLI process in the background. */
  start(clone: Clone, args: string[]): Tracked {
    const child = startCli(args, { cwd: clone.repo, env: clone.env });
    this.children.add(child);
    const t: Tracked = {
      child,
      clone: clone.name,
      args,
      stdout: '',
      stderr: '',
      done: new Promise((resolve) => {
        child.once('close', (code, signal) => {
          this.children.delete(child);
          resolve({ code, signal });
        });
      }),
    };
    child.stdout?.on('data', (d: Buffer) => (t.stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (t.stderr += d.toString()));
    return t;
  }

  /** pid of the clone's live daemon (from daemon.pid), or null. */
  daemonPid(clone: Clone): number | null {
    try {
      const pid = Number(readFileSync(join(clone.state, 'daemon.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * Nobody is touching the clone's work tree: no lock held by a live owner, no git
   * running in it, no rebase/merge in progress, HEAD on a branch.
   */
  quiescent(clone: Clone): boolean {
    const gitDir = join(clone.repo, '.git');
    for (const f of ['rebase-merge', 'rebase-apply', 'MERGE_HEAD', 'CHERRY_PICK_HEAD', 'index.lock']) if (existsSync(join(gitDir, f))) return false;
    try {
      if (!readFileSync(join(gitDir, 'HEAD'), 'utf8').startsWith('ref: ')) return false;
    } catch {
      return false;
    }
    if (existsSync(join(clone.state, 'sync-coordinator.lock'))) {
      let ownerPid = 0;
      try {
        ownerPid = Number(JSON.parse(readFileSync(join(clone.state, 'lock-owner.json'), 'utf8')).pid);
      } catch {
        return false; // no owner record yet: someone is taking it right now
      }
      if (isAlive(ownerPid)) return false;
    }
    return liveGitIn(clone.repo).length === 0;
  }

  /** Stop everything this run started: CLIs, daemons, orphaned git, the git daemon. */
  async dispose(removeSandbox = true): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const pid of daemonProcessesIn(this.sb.dir)) killPid(pid);
    await this.gitDaemon?.stop().catch(() => {});
    // Orphaned git (SIGKILLed CLIs leave theirs running), git daemon children, anything
    // else of this sandbox: one by one, by pid.
    await waitFor(
      () => {
        const left = liveProcessesIn(this.sb.dir);
        for (const pid of left) killPid(pid);
        return left.length === 0;
      },
      { timeoutMs: 10_000, intervalMs: 50, what: 'the processes of the chaos sandbox to exit' },
    ).catch(() => {});
    if (removeSandbox) this.sb.cleanup();
  }
}
