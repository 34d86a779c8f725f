/**
 * Real git repositories for tests: a bare remote plus clones in a temp dir, each with
 * its own identity and hardening in its local config. Never touches the developer's
 * repos or global config: HOME points at a temp dir and system config is off.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Sandbox {
  dir: string;
  home: string;
  remote: string;
  env: NodeJS.ProcessEnv;
  clone(name: string, opts?: { init?: boolean }): string;
  git(cwd: string, ...args: string[]): string;
  cleanup(): void;
}

/** Environment for every git and CLI process a test starts. */
export function testEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: process.env.TMPDIR,
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  };
}

export function makeSandbox(prefix = 'sc-test-'): Sandbox {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  if (dir.startsWith(PROJECT_ROOT)) throw new Error('refusing to create a sandbox inside the project');
  const home = join(dir, 'home');
  mkdirSync(home);
  // Empty global config so the developer's ~/.gitconfig is never read or written.
  writeFileSync(join(home, '.gitconfig'), '');
  const env = testEnv(home);
  const remote = join(dir, 'remote.git');
  const git = (cwd: string, ...args: string[]): string => {
    if (resolve(cwd).startsWith(PROJECT_ROOT)) throw new Error(`refusing to run git in the project: ${cwd}`);
    return execFileSync('git', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  git(dir, 'init', '--bare', '--initial-branch=main', remote);
  let seeded = false;
  const sandbox: Sandbox = {
    dir,
    home,
    remote,
    env,
    git,
    clone(name: string) {
      const path = join(dir, name);
      git(dir, 'clone', '--quiet', remote, path);
      harden(git, path, name);
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
    cleanup() {
      if (process.env.SC_KEEP_SANDBOX) return; // debugging: keep the repos to look at
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sandbox;
}

function harden(git: Sandbox['git'], path: string, name: string): void {
  git(path, 'config', 'user.name', `Test ${name}`);
  git(path, 'config', 'user.email', `${name}@example.test`);
  git(path, 'config', 'commit.gpgSign', 'false');
  git(path, 'config', 'gc.auto', '0');
  git(path, 'config', 'maintenance.auto', 'false');
  git(path, 'config', 'core.autocrlf', 'false');
}
