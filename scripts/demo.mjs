#!/usr/bin/env node
// `npm run demo`: sync-coordinator doing its main job on a sandbox it makes itself: a
// local bare remote and two clones ("laptop" and "desktop"), the daemon with its
// watcher in laptop, a few edits that reach the remote, then a conflict on the same
// line of the same file, resolved by the conflict-copy policy; then `status` and
// `conflicts`. Everything lives in one temp dir that is removed at the end, also on an
// error or Ctrl-C. Uses the bundled CLI (dist/bin), with HOME pointed at the sandbox.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloneConfig, makeSandboxDir, waitFor } from '../test/helpers/sandbox.mjs';
import { assertBuilt, BIN, indent, run } from './demo-lib.mjs';

const STEPS = 6;
const DEADLINE_MS = 25_000; // per wait; the whole demo takes about 10 s

// The shared sandbox: a temp dir with its own HOME (empty ~/.gitconfig) and env.
const { dir, env } = makeSandboxDir('sync-coordinator-demo-');
const remote = join(dir, 'remote.git');
const laptop = join(dir, 'laptop');
const desktop = join(dir, 'desktop');
let daemonStarted = false;
let cleaning = null;
let interrupted = false;
/** The child process running now: cleanup waits for it (a `daemon start` must finish before its `stop`). */
let inflight = Promise.resolve();

const say = (step, text) => console.log(`${step}/${STEPS} ${text}`);
const show = (text) => text.trim() && console.log(indent(text));

class DemoError extends Error {}
class Interrupted extends Error {}

/** Every child of the demo goes through here: none starts after Ctrl-C. */
function spawnStep(cmd, args, opts) {
  if (interrupted) throw new Interrupted('interrupted');
  const p = run(cmd, args, opts);
  inflight = p.catch(() => {});
  return p;
}

async function git(cwd, ...args) {
  const r = await spawnStep('git', args, { cwd, env });
  if (r.code !== 0) throw new DemoError(`git ${args.join(' ')} failed in ${cwd}:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Run the CLI in a clone and show its real output; `expect` = acceptable exit codes. */
async function sc(where, args, { expect = [0], quiet = false } = {}) {
  const name = where === laptop ? 'laptop' : 'desktop';
  if (!quiet) console.log(`    $ sync-coordinator ${args.join(' ')}    (in ${name})`);
  const r = await spawnStep(process.execPath, [BIN, ...args], { cwd: where, env, timeoutMs: 60_000 });
  if (!quiet) show(r.stdout + r.stderr);
  if (!expect.includes(r.code)) throw new DemoError(`"sync-coordinator ${args.join(' ')}" in ${name} exited ${r.code}:\n${indent(r.stdout + r.stderr)}`);
  return r;
}

async function remoteFiles() {
  return (await git(dir, '--git-dir', remote, 'ls-tree', '-r', '--name-only', 'main')).split('\n').filter(Boolean);
}

async function statusJson(where) {
  const r = await spawnStep(process.execPath, [BIN, 'status', '--json'], { cwd: where, env });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

async function main() {
  assertBuilt();
  say(1, `making a sandbox in ${dir}: a bare remote and two clones, "laptop" and "desktop"`);
  await git(dir, 'init', '-q', '--bare', '--initial-branch=main', remote);
  for (const [path, name] of [
    [laptop, 'laptop'],
    [desktop, 'desktop'],
  ]) {
    await git(dir, 'clone', '-q', remote, path);
    // Identity and hardening in the clone's own config: the machine may have none.
    for (const [key, value] of cloneConfig(name)) await git(path, 'config', key, value);
    if (name === 'laptop') {
      await git(path, 'checkout', '-q', '-B', 'main');
      writeFileSync(join(path, 'notes.md'), '# Notes\nMeeting at 10:00\nBuy milk\n');
      await git(path, 'add', 'notes.md');
      await git(path, 'commit', '-q', '-m', 'first notes');
      await git(path, 'push', '-q', '-u', 'origin', 'main');
    } else {
      await git(path, 'checkout', '-q', 'main');
    }
  }
  show(`remote.git   (bare, the "server")\nlaptop/      (clone)\ndesktop/     (clone)`);

  say(2, 'init, a config with a short debounce, and the git hooks, in both clones');
  for (const [path, name] of [
    [laptop, 'laptop'],
    [desktop, 'desktop'],
  ]) {
    await sc(path, ['init']);
    const configFile = join(path, '.claude', 'sync-coordination', 'config.json');
    const config = {
      ...JSON.parse(readFileSync(configFile, 'utf8')),
      device_name: name,
      debounce_ms: 500,
      max_wait_ms: 3000,
      pull_interval_s: 0,
      process_interval_s: 5,
    };
    writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
    console.log(`    (config.json: device_name "${name}", debounce_ms 500, max_wait_ms 3000, no periodic pull)`);
    await sc(path, ['hooks', 'install']);
  }

  say(3, 'starting the daemon, with its file watcher, in laptop');
  daemonStarted = true; // from here on, cleanup stops it (even if interrupted during the start)
  await sc(laptop, ['daemon', 'start']);
  const ready = await waitFor(async () => (await statusJson(laptop))?.watcher?.watching === true, { timeoutMs: DEADLINE_MS }).catch(() => null);
  if (!ready) throw new DemoError('the daemon did not report a ready watcher (status --json "watcher") in time; see "sync-coordinator daemon logs" in laptop');
  const st = await statusJson(laptop);
  show(`watcher ready (${st.watcher.mode}); daemon pid ${st.daemon.pid}`);

  say(4, 'editing files in laptop; nobody runs git: the watcher notices, the daemon commits and pushes');
  writeFileSync(join(laptop, 'notes.md'), '# Notes\nMeeting at 10:00\nBuy milk\nCall the plumber\n');
  mkdirSync(join(laptop, 'ideas'));
  writeFileSync(join(laptop, 'ideas', 'garden.md'), 'Plant tomatoes in May\n');
  console.log('    edited notes.md, created ideas/garden.md');
  const t0 = Date.now();
  const arrived = await waitFor(
    async () => {
      const files = await remoteFiles();
      if (!files.includes('ideas/garden.md')) return false;
      const notes = await git(dir, '--git-dir', remote, 'show', 'main:notes.md');
      return notes.includes('plumber');
    },
    { timeoutMs: DEADLINE_MS },
  ).catch(() => null);
  if (!arrived) throw new DemoError('the edits did not reach the remote in time; see "sync-coordinator status" and "daemon logs" in laptop');
  console.log(`    on the remote after ${((Date.now() - t0) / 1000).toFixed(1)} s:`);
  show(await git(dir, '--git-dir', remote, 'log', '--format=%h %s', '-n', '3', 'main'));

  // Let laptop's daemon go idle first (nothing pending, lock free), so that it does not
  // pull desktop's change before laptop's own edit (that would be no conflict at all).
  const idle = await waitFor(
    async () => {
      const s = await statusJson(laptop);
      return s && !s.lock.held && s.queue.pending === 0 && (s.watcher?.pending ?? 0) === 0;
    },
    { timeoutMs: DEADLINE_MS },
  ).catch(() => null);
  if (!idle) throw new DemoError('laptop\'s daemon did not go idle after the first sync; see "sync-coordinator status" in laptop');

  say(5, 'a conflict: desktop and laptop change the same line of notes.md; desktop syncs first');
  await sc(desktop, ['sync-now']); // gets laptop's edits
  writeFileSync(join(desktop, 'notes.md'), readFileSync(join(desktop, 'notes.md'), 'utf8').replace('Meeting at 10:00', 'Meeting at 11:00 (moved by desktop)'));
  console.log('    desktop: "Meeting at 10:00" -> "Meeting at 11:00 (moved by desktop)"');
  await sc(desktop, ['sync-now']);
  const before = readFileSync(join(laptop, 'notes.md'), 'utf8');
  if (!before.includes('Meeting at 10:00')) throw new DemoError("laptop already has desktop's change (something pulled it early): no conflict to show");
  writeFileSync(join(laptop, 'notes.md'), before.replace('Meeting at 10:00', 'Meeting at 09:30 (moved by laptop)'));
  console.log('    laptop:  "Meeting at 10:00" -> "Meeting at 09:30 (moved by laptop)"; its daemon syncs it...');
  const copyName = await waitFor(
    async () => {
      const copy = readdirSync(laptop).find((n) => /^notes\.sync-conflict-.*\.md$/.test(n));
      return copy && (await remoteFiles()).includes(copy) ? copy : null;
    },
    { timeoutMs: DEADLINE_MS },
  ).catch(() => null);
  if (!copyName) {
    const s = await statusJson(laptop);
    const last = s?.last_op ? `${s.last_op.result}: ${s.last_op.message}` : 'no sync recorded';
    throw new DemoError(`no conflict copy appeared in laptop (last sync: ${last}); the conflict-copy policy did not run as DESIGN.md section 5 describes`);
  }
  console.log("    the remote's version stays at notes.md; laptop's version is kept beside it, both committed and pushed:");
  show(
    `notes.md:\n${indent(readFileSync(join(laptop, 'notes.md'), 'utf8'), '  ')}\n${copyName}:\n${indent(readFileSync(join(laptop, copyName), 'utf8'), '  ')}`,
  );

  say(6, 'what laptop reports: status and conflicts');
  await sc(laptop, ['status']);
  await sc(laptop, ['conflicts']);
  console.log('done: both edits are safe, nothing was forced, nothing was lost.');
}

/** Stop the daemon and remove the sandbox; safe to call twice (error path, then Ctrl-C). */
function cleanup() {
  cleaning ??= (async () => {
    await inflight;
    if (daemonStarted) {
      console.log(`cleaning up: daemon stop, removing ${dir}`);
      console.log(`    $ sync-coordinator daemon stop    (in laptop)`);
      const r = await run(process.execPath, [BIN, 'daemon', 'stop', '--timeout', '15'], { cwd: laptop, env, timeoutMs: 20_000 }).catch(() => null);
      if (r) show(r.stdout + r.stderr);
      if (r?.code !== 0) killDaemonByPidFile();
    } else {
      console.log(`cleaning up: removing ${dir}`);
    }
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}

/** Last resort when "daemon stop" failed: the daemon this demo started, by its pid file. */
function killDaemonByPidFile() {
  try {
    const pid = Number(readFileSync(join(laptop, '.claude', 'sync-coordination', 'daemon.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    /* no pid file or already gone */
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (interrupted) {
      console.log('still cleaning up (stopping the daemon, removing the sandbox)...');
      return;
    }
    interrupted = true;
    console.log(`\ninterrupted (${sig})`);
    void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

try {
  await main();
  await cleanup();
} catch (e) {
  if (e instanceof Interrupted || interrupted) {
    await cleanup(); // the signal handler exits
  } else {
    console.error(`demo failed: ${e instanceof DemoError ? e.message : (e?.stack ?? e)}`);
    await cleanup();
    process.exitCode = 1;
  }
}
