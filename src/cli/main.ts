/**
 * The CLI: commander wires the commands; each command module is imported only when it
 * runs (start-up time matters for hooks and scripts). Commands throw typed errors;
 * only this file turns them into an exit code, through `process.exitCode` so that
 * logs flush.
 */
import { Command, CommanderError, Option } from 'commander';
import { exitCodeOf, ExitCode, UsageError } from '../shared/errors.js';
import { safeValue } from '../shared/sanitize.js';
import { createContext, type CommandContext } from './context.js';
import { MERGED_LIMIT, seconds, wholeNumber } from './numeric-option.js';

// biome-ignore lint/suspicious/noExplicitAny: commander hands each command its own argument and option types
type Action = (ctx: CommandContext, ...args: any[]) => Promise<number>;

function lazy(load: () => Promise<{ run: Action }>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const ctx = createContext(cmd.optsWithGlobals() as { C?: string });
    // The command's modules load while the work tree is found: the import's file reads
    // are under way before the git child is spawned (a spawn blocks this thread).
    const loading = load();
    ctx.workspace().catch(() => {});
    const mod = await loading;
    const code = await mod.run(ctx, ...args.slice(0, -1));
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  };
}

export function buildProgram(name = 'sync-coordinator'): Command {
  const program = new Command(name)
    .description('One coordinator between every trigger and git: keeps this work tree safely synced with its remote.')
    .option('-C <path>', 'run as if started in <path> (like git -C)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(safeValue(str.trimEnd()) + '\n') })
    .addHelpText(
      'after',
      `
Exit codes: 0 done/queued, 1 sync failed, 2 bad input or config, 3 rate limited,
            4 lock busy past the timeout, 5 conflict left for you, 6 not a git work tree.
State: <worktree>/.claude/sync-coordination/ (never committed).
Examples:
  $ sync-coordinator init
  $ sync-coordinator request-sync smart my-script normal "after build"
  $ sync-coordinator sync-now
  $ sync-coordinator status --json`,
    );

  program
    .command('init')
    .description('create the state directory, a default config and the .git/info/exclude entry (idempotent)')
    .option('--json', 'print a JSON object')
    .action(lazy(() => import('./commands/init.js')));

  program
    .command('request-sync')
    .description('ask for a sync; never waits on the lock. Types: intelligent-auto, smart, robust, manual, post-merge. Priorities: critical, high, normal, low')
    .argument('<type>', 'intelligent-auto | smart | robust | manual | post-merge')
    .argument('<caller>', 'who asks (a script or person name; printable, at most 1 KiB)')
    .argument('[priority]', 'critical | high | normal | low (default depends on the type)')
    .argument('[reason...]', 'free text for the log (printable, at most 1 KiB)')
    .option('--enqueue-only', 'only queue it; never process in this process')
    .option('--wait', "wait for this request's outcome")
    .addOption(new Option('--timeout <s>', 'with --wait: give up after <s> seconds').argParser(seconds('--timeout')).default(300))
    .option('--json', 'print {"id","status","type","priority"} (and "result" with --wait)')
    .addHelpText(
      'after',
      `
Examples:
  $ sync-coordinator request-sync smart auto-sync
  $ sync-coordinator request-sync robust nightly-job high "end of day" --wait
  $ claude-sync-coordinator request-sync intelligent-auto watcher low --enqueue-only`,
    )
    .action(lazy(() => import('./commands/request-sync.js')));

  program
    .command('process')
    .description('process the queue now (waits for the lock up to lock_timeout_ms)')
    .option('--json', 'print a JSON report')
    .option('--quiet', 'print nothing on success')
    .action(lazy(() => import('./commands/process.js')));

  program
    .command('sync-now')
    .description('a manual, high-priority sync, processed now; shows each step and waits for the result')
    .option('--json', 'print a JSON object')
    .option('--reason <text>', 'free text for the log')
    .action(lazy(() => import('./commands/sync-now.js')));

  program
    .command('status')
    .description('lock and owner, queue, rate limit, active operation, stats, breaker, daemon, open conflicts')
    .option('--json', 'print one JSON object')
    .action(lazy(() => import('./commands/status.js')));

  program
    .command('release-lock')
    .description('release a lock held by <caller> or by a dead owner; --force releases any (logged)')
    .argument('<caller>', 'the caller that holds the lock (see "status")')
    .option('--force', 'release whoever holds it')
    .option('--json', 'print a JSON object')
    .action(lazy(() => import('./commands/release-lock.js')));

  program
    .command('conflicts')
    .description('conflicts handled and still open, newest first; auto-merges: --merged, show <path>, undo <path>')
    .argument(
      '[action]',
      'show <path>: what each side changed against the base (the latest auto-merge of <path>, or its open conflict copy); undo <path>: keep the side the auto-merge folded in as a conflict copy beside <path>',
    )
    .argument('[path]', 'the file (put "--" before a path that starts with "-")')
    .option(
      '--resolve <path>',
      'close the conflict at <path> (a file or its conflict copy): deletes its conflict copies, so the next sync closes it on every device; resumes paused automatic syncs when none is left',
    )
    .option(
      '--merge <path>',
      "write git's 3-way merge of <path> and its conflict copy, with markers, into <path> for you to edit (automatic syncs pause until --resolve)",
    )
    .option('--all', 'include resolved conflicts')
    .option('--merged', 'list recent auto-merges (resolver merged both sides), newest first')
    .option('--limit <n>', `with --merged: how many, 1 to ${MERGED_LIMIT.max} (default ${MERGED_LIMIT.default})`, wholeNumber('--limit', 1, MERGED_LIMIT.max))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ sync-coordinator conflicts --merged
  $ sync-coordinator conflicts show -- notes.md
  $ sync-coordinator conflicts undo -- notes.md`,
    )
    .action(lazy(() => import('./commands/conflicts.js')));

  const wsCmd = (name: 'add' | 'remove') =>
    program
      .command(name)
      .description(
        name === 'add'
          ? 'register a work tree with the user daemon (default: this one)'
          : 'unregister a work tree (by path or id); the user daemon stops watching it',
      )
      .argument('[path]', 'the work tree (default: the current directory)')
      .option('--json', 'print a JSON object')
      .action(lazy(async () => ({ run: (await import('./commands/workspaces.js'))[name] })));
  wsCmd('add');
  wsCmd('remove');
  program
    .command('list')
    .description('the work trees the user daemon serves')
    .option('--json', 'print {"daemon","workspaces":[{id,path,added_at,exists,served}]}')
    .action(lazy(async () => ({ run: (await import('./commands/workspaces.js')).list })));

  const daemon = program
    .command('daemon')
    .description('background processor (alias: claude-sync-daemon)')
    .addHelpText(
      'after',
      '\nA running daemon applies a changed config.json by itself, after the sync in progress;\nan invalid one is logged (see "doctor") and the daemon keeps its previous config.',
    );
  daemon
    .command('start')
    .description('register this work tree and start the user daemon in the background if it is not running (exit 0 and no second daemon when one already runs)')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/daemon-start.js')));
  daemon
    .command('stop')
    .description('stop the daemon (SIGTERM, waits for a clean exit)')
    .option('--timeout <s>', 'seconds to wait for the exit', seconds('--timeout'), 30)
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/daemon-stop.js')));
  daemon
    .command('status')
    .description('"running (pid N)" or "not running"')
    .option('--json', 'print {"running","pid","since"}')
    .action(lazy(() => import('./commands/daemon-status.js')));
  daemon
    .command('run')
    .description('run the daemon in the foreground (for systemd); exit 4 when another daemon runs for this work tree')
    .option('--user', 'the user daemon: serve every registered work tree (see "list")')
    .action(lazy(() => import('./commands/daemon-run.js')));
  daemon
    .command('logs')
    .description('show the daemon and coordinator logs, merged by time')
    .option('-f, --follow', 'follow the log')
    .option('-n, --lines <n>', 'lines to show', wholeNumber('--lines', 0), 50)
    .option('--json', 'raw JSON lines')
    .option('--user', "the user daemon's own log (which work trees it serves, and why one is not served), from any directory")
    .action(lazy(() => import('./commands/daemon-logs.js')));
  daemon
    .command('install-service')
    .description('write a systemd user unit (macOS: a launchd agent) so the daemon starts at login')
    .option('--json', 'print JSON')
    .addOption(new Option('--platform <name>', 'linux or darwin (default: this machine)').hideHelp())
    .action(lazy(() => import('./commands/daemon-install-service.js')));

  program
    .command('watch')
    .description('foreground watcher: turns file changes into intelligent-auto requests')
    .action(lazy(() => import('./commands/watch.js')));

  const hooks = program.command('hooks').description('git hooks (post-merge, pre-push); husky-aware, chains existing hooks');
  for (const sub of ['install', 'uninstall', 'status'] as const) {
    hooks
      .command(sub)
      .description(`${sub} the hooks`)
      .option('--json', 'print JSON')
      .action(lazy(async () => ({ run: (await import('./commands/hooks.js')).commands[sub] })));
  }

  program
    .command('dashboard')
    .description("print the link to the user daemon's web dashboard (with the API token) and open it in a browser")
    .option('--no-open', 'only print the link; do not start a browser')
    .option('--json', 'print {"url","opened"}')
    .addHelpText(
      'after',
      `
The dashboard is served by the user daemon on 127.0.0.1:<api.port> (default 7341;
"api" in ~/.config/sync-coordinator/config.json). It shows every workspace, live
sync steps, history, conflicts side by side, and has Sync now / Pause / Resume.

The link carries the API token after "#": the browser keeps it and never sends it
in a request, so it stays out of server logs. Treat the link like a password.
A browser opens when a display is available (xdg-open or open); over ssh, copy the
link, or forward the port first: ssh -L 7341:127.0.0.1:7341 <host>.

Exit codes: 0 printed, 1 the user daemon or its API is not running (the message
says how to start it), 2 an invalid api setting in config.json.
Examples:
  $ sync-coordinator daemon start && sync-coordinator dashboard
  $ sync-coordinator dashboard --no-open`,
    )
    .action(lazy(() => import('./commands/dashboard.js')));

  program
    .command('doctor')
    .description('check git, identity, remote, hooks, daemon, inotify limits, disk space, state directory')
    .option('--json', 'print JSON')
    .action(lazy(() => import('./commands/doctor.js')));

  return program;
}

export async function main(argv: string[], name?: string): Promise<void> {
  // `sync-coordinator status | head`: the reader went away; that is not our failure.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    });
  }
  // Aliases show the main program in usage lines: `claude-sync-daemon X` is `sync-coordinator daemon X`.
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        process.exitCode = 0;
        return;
      }
      process.exitCode = ExitCode.usage;
      return;
    }
    const err = e instanceof UsageError || e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`${name ?? 'sync-coordinator'}: ${safeValue(err.message)}\n`);
    process.exitCode = exitCodeOf(e);
  }
}
