/**
 * What every command needs, built lazily from the global options: the workspace (one
 * read-only git call), the config (zod only when config.json exists) and a logger
 * (pino only when a command logs).
 */
import { loadConfig, type Config } from '../shared/config.js';
import { assertStateDirSafe, ensureStateDir, resolveWorkspace, type Workspace } from '../git/workspace.js';
import { assertStateUntracked } from '../core/tracked-state.js';
import { printableLine } from '../shared/sanitize.js';
import { createLineLogger, type Logger } from '../shared/log.js';

export interface GlobalOptions {
  C?: string;
}

export interface CommandContext {
  cwd: string;
  workspace(): Promise<Workspace>;
  /**
   * Workspace with its state directory created on first use, only after the config
   * validated: bad input changes nothing (invariant 10).
   */
  stateWorkspace(): Promise<Workspace>;
  config(): Promise<Config>;
  logger(): Promise<Logger>;
  /**
   * One line to stdout / stderr, made printable (`printableLine`): a file name, reason or
   * remote message inside it can neither move the cursor nor split the line.
   */
  out(line: string): void;
  err(line: string): void;
  /** For text that is already safe and must keep its tabs or colours (a diff, pretty logs). */
  outRaw(line: string): void;
  /**
   * Aborted on the first SIGINT/SIGTERM: the running sync stops at a safe point,
   * restores what it started, releases the lock and the command exits. A second signal
   * exits at once.
   */
  readonly signal: AbortSignal;
}

let shutdown: AbortController | null = null;
function shutdownSignal(): AbortSignal {
  if (!shutdown) {
    const controller = new AbortController();
    shutdown = controller;
    const onSignal = (sig: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
      controller.abort(new Error(`received ${sig}`));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return shutdown.signal;
}

export function createContext(global: GlobalOptions): CommandContext {
  const cwd = global.C ?? process.cwd();
  let ws: Promise<Workspace> | null = null;
  let stateWs: Promise<Workspace> | null = null;
  let config: Promise<Config> | null = null;
  let logger: Promise<Logger> | null = null;
  const ctx: CommandContext = {
    cwd,
    workspace: () => (ws ??= resolveWorkspace(cwd)),
    stateWorkspace: () =>
      (stateWs ??= ctx.config().then(async () => {
        const w = await ctx.workspace();
        await ensureStateDir(w);
        return w;
      })),
    config: () =>
      (config ??= ctx.workspace().then(async (w) => {
        await assertStateDirSafe(w);
        // Every command that uses the state directory asks for the config first: a state
        // file that git tracks came from a checkout and is never used (invariant 14).
        await assertStateUntracked(w);
        return loadConfig(w.paths.config);
      })),
    logger: () => (logger ??= Promise.all([ctx.stateWorkspace(), ctx.config()]).then(([w, c]) => createLineLogger(w.paths.coordinatorLog, c.log.level))),
    out: (line) => process.stdout.write(printableLine(line) + '\n'),
    err: (line) => process.stderr.write(printableLine(line) + '\n'),
    outRaw: (line) => process.stdout.write(line + '\n'),
    get signal() {
      return shutdownSignal();
    },
  };
  return ctx;
}
