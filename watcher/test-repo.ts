/**
 * Test helper: a throwaway git repository (no remote) in the shared sandbox
 * (test/helpers/sandbox.mjs); the watcher tests need only a work tree.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeSandbox } from '../test/helpers/sandbox.mjs';

export function makeTestRepo(prefix: string) {
  const sb = makeSandbox(prefix);
  const root = sb.init('repo');
  const git = (...args: string[]) => sb.git(root, ...args);
  const write = (rel: string, content = 'x\n') => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  return { dir: sb.dir, root, env: sb.env, git, write, cleanup: sb.cleanup };
}
