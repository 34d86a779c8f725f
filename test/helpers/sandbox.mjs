/**
 * The one sandbox and the one wait-until of the tests, the bench and the demo (plain
 * ESM with types in sandbox.d.mts, so that node scripts load it without a TypeScript
 * loader). A sandbox is a temp directory with its own HOME (an empty ~/.gitconfig), no
 * system git config and, when asked, a bare remote plus clones with their identity and
 * hardening in their local config. It never touches the developer's repositories or
 * config: it refuses to live in the project and to run git there.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Environment for every git and CLI process started in a sandbox. */
export function sandboxEnv(home, extra = {}) {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    TMPDIR: process.env.TMPDIR,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}

/** A clone's local config: an identity (CI machines have none) and no background work. */
export function cloneConfig(name) {
  return [
    ['user.name', `Test ${name}`],
    ['user.email', `${name}@example.test`],
    ['commit.gpgSign', 'false'],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['core.autocrlf', 'false'],
  ];
}

/** Removes a temp directory unless SC_KEEP_SANDBOX asks to keep it for a look afterwards. */
function removeUnlessKept(dir) {
  if (process.env.SC_KEEP_SANDBOX) return;
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A bare temp directory (real path, outside the project) for tests that need files but
 * no HOME and no git; `cleanup()` removes it.
 */
export function makeTempDir(prefix = 'sc-test-') {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  if (dir.startsWith(PROJECT_ROOT)) throw new Error('refusing to create a temp directory inside the project');
  return { dir, cleanup: () => removeUnlessKept(dir) };
}

/** The temp directory, its HOME and env; git runs only inside it. */
export function makeSandboxDir(prefix = 'sc-test-') {
  const { dir, cleanup } = makeTempDir(prefix);
  const home = join(dir, 'home');
  mkdirSync(home);
  // Empty global config so the developer's ~/.gitconfig is never read or written.
  writeFileSync(join(home, '.gitconfig'), '');
  const env = sandboxEnv(home);
  const git = (cwd, ...args) => {
    if (resolve(cwd).startsWith(PROJECT_ROOT)) throw new Error(`refusing to run git in the project: ${cwd}`);
    return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  return { dir, home, env, git, cleanup };
}

/**
 * A sandbox with a bare remote (`main`); `clone(name)` adds a hardened clone (the first
 * one seeds the remote with a README.md commit), `init(name)` a repository with no remote.
 */
export function makeSandbox(prefix = 'sc-test-') {
  const { dir, home, env, git, cleanup } = makeSandboxDir(prefix);
  const remote = join(dir, 'remote.git');
  git(dir, 'init', '--bare', '--initial-branch=main', remote);
  const harden = (path, name) => {
    for (const [key, value] of cloneConfig(name)) git(path, 'config', key, value);
  };
  let seeded = false;
  return {
    dir,
    home,
    remote,
    env,
    git,
    clone(name) {
      const path = join(dir, name);
      git(dir, 'clone', '--quiet', remote, path);
      harden(path, name);
      if (!seeded) {
        git(path, 'checkout', '-q', '-B', 'main');
        writeFileSync(join(path, 'README.md'), '# sandbox\n');
        git(path, 'add', 'README.md');
        git(path, 'commit', '-q', '-m', 'initial');
        git(path, 'push', '-q', '-u', 'origin', 'main');
        seeded = true;
      } else {
        git(path, 'checkout', '-q', 'main');
      }
      return path;
    },
    init(name) {
      const path = join(dir, name);
      mkdirSync(path);
      git(path, 'init', '-q', '--initial-branch=main');
      harden(path, name);
      return path;
    },
    cleanup,
  };
}

/**
 * Poll `check` until it returns a truthy value, which it resolves with; throws after the
 * deadline, naming `what` and the last error `check` threw. No fixed sleeps.
 */
export async function waitFor(check, opts = {}) {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
