/**
 * Test helper: a throwaway git repository (no remote) with its own HOME and no system
 * config; never the project itself. The watcher tests need only a work tree.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function makeTestRepo(prefix: string) {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  if (dir.startsWith(PROJECT)) throw new Error('refusing to create a test repo inside the project');
  const home = join(dir, 'home');
  const root = join(dir, 'repo');
  mkdirSync(home);
  mkdirSync(root);
  writeFileSync(join(home, '.gitconfig'), '');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '--initial-branch=main');
  git('config', 'user.name', 'Watcher Test');
  git('config', 'user.email', 'watcher@test.invalid');
  git('config', 'commit.gpgSign', 'false');
  git('config', 'gc.auto', '0');
  const write = (rel: string, content = 'x\n') => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  return { dir, root, env, git, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
