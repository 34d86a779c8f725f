import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  acceptsShellLines,
  BLOCK_BEGIN,
  BLOCK_END,
  blockText,
  CREATED_HEADER,
  findBlocks,
  hasBlock,
  insertBlock,
  isLegacyBlockText,
  removeBlocks,
  shebangInterpreter,
} from './hook-block.js';
import { makeTempDir } from '../test/helpers/sandbox.mjs';

const originals: Record<string, string> = {
  empty: '',
  'shebang only, no newline': '#!/bin/sh',
  'shebang only': '#!/bin/sh\n',
  'shebang and code ending in exit': '#!/usr/bin/env bash\nset -eu\necho hi\nexit 0\n',
  'no shebang (husky style)': 'npx lint-staged\n',
  'no final newline': '#!/bin/sh\necho hi',
  'CRLF lines': '#!/bin/sh\r\necho hi\r\n',
  'latin1 bytes': '#!/bin/sh\necho caf\u00e9 \u00ff\n',
};

describe('hook block text edits', () => {
  test.each(Object.entries(originals))('insert then remove gives back the original: %s', (_name, original) => {
    const withBlock = insertBlock(original, blockText('post-merge'));
    expect(hasBlock(withBlock)).toBe(true);
    expect(removeBlocks(withBlock)).toEqual({ text: original, found: true, created: false });
  });

  test('the block goes after the shebang and before the user code', () => {
    const out = insertBlock('#!/bin/sh\necho user\nexit 1\n', blockText('pre-push'));
    const lines = out.split('\n');
    expect(lines[0]).toBe('#!/bin/sh');
    expect(lines[1]).toBe(BLOCK_BEGIN);
    expect(lines.indexOf(BLOCK_END)).toBeLessThan(lines.indexOf('echo user'));
  });

  test('the block runs our script from the git dir, guarded, with stdin closed, and names no absolute path', () => {
    const block = blockText('pre-push');
    expect(block).toContain('[ -f "$sc_d/sync-coordinator/hooks/pre-push.sh" ] && sh "$sc_d/sync-coordinator/hooks/pre-push.sh" </dev/null || true\n');
    expect(block).not.toContain('.claude/');
    expect(isLegacyBlockText(block)).toBe(false);
    expect(block).not.toMatch(/(^|[\s"'=])\/[A-Za-z]/m);
    expect(block).not.toMatch(/^\s*exit\b/m);
  });

  test('the block finds the common git dir with builtins: .git in a main worktree, commondir in a linked one, under sh -eu', () => {
    const { dir, cleanup } = makeTempDir('sc-block-');
    try {
      const common = join(dir, 'main', '.git');
      const linked = join(common, 'worktrees', 'wt');
      mkdirSync(join(common, 'sync-coordinator', 'hooks'), { recursive: true });
      mkdirSync(linked, { recursive: true });
      mkdirSync(join(dir, 'wt'));
      writeFileSync(join(linked, 'commondir'), '../..\n');
      writeFileSync(join(common, 'sync-coordinator', 'hooks', 'post-merge.sh'), 'pwd >> "$HOME/ran"\n');
      writeFileSync(join(dir, 'hook'), `#!/bin/sh\n${blockText('post-merge')}echo "after \${sc_d-unset} \${sc_c-unset}"\n`);
      const run = (cwd: string, env: NodeJS.ProcessEnv) =>
        spawnSync('sh', ['-eu', join(dir, 'hook')], { cwd, env: { PATH: process.env.PATH, HOME: dir, ...env }, encoding: 'utf8' });
      const main = run(join(dir, 'main'), {});
      expect(main.status, main.stderr).toBe(0);
      // The user's code after the block sees none of its variables.
      expect(main.stdout).toBe('after unset unset\n');
      expect(run(join(dir, 'wt'), { GIT_DIR: linked }).status).toBe(0);
      expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe(`${join(dir, 'main')}\n${join(dir, 'wt')}\n`);
      // No script installed: nothing runs, the hook goes on.
      expect(run(dir, {}).status).toBe(0);
    } finally {
      cleanup();
    }
  });

  test('removing a block the installer created reports it, so the file can be deleted', () => {
    const created = CREATED_HEADER + blockText('post-merge', true);
    expect(removeBlocks(created)).toEqual({ text: CREATED_HEADER, found: true, created: true });
    // Re-inserting after a strip keeps the created mark: install twice = same bytes.
    const again = removeBlocks(created);
    expect(insertBlock(again.text, blockText('post-merge', again.created))).toBe(created);
  });

  test('several blocks are all removed; a marker without its partner is malformed', () => {
    const twice = insertBlock(insertBlock('#!/bin/sh\necho x\n', blockText('post-merge')), blockText('post-merge'));
    expect(findBlocks(twice).blocks).toHaveLength(2);
    expect(removeBlocks(twice).text).toBe('#!/bin/sh\necho x\n');
    expect(findBlocks(`${BLOCK_BEGIN}\necho x\n`).malformed).toBe(true);
    expect(findBlocks(`echo x\n${BLOCK_END}\n`).malformed).toBe(true);
    expect(findBlocks(`${BLOCK_BEGIN}\n${BLOCK_BEGIN}\n${BLOCK_END}\n`).malformed).toBe(true);
    expect(findBlocks('#!/bin/sh\necho x\n')).toEqual({ blocks: [], malformed: false });
  });

  test('shebang interpreters: sh-like ones accept our line, others do not', () => {
    expect(shebangInterpreter('echo hi\n')).toBeNull();
    expect(shebangInterpreter('#!/bin/sh\n')).toBe('sh');
    expect(shebangInterpreter('#! /usr/bin/env -S bash -e\n')).toBe('bash');
    expect(shebangInterpreter('#!/usr/bin/env python3\nprint(1)\n')).toBe('python3');
    expect(acceptsShellLines('#!/bin/bash -eu\n')).toBe(true);
    expect(acceptsShellLines('#!/usr/bin/env zsh\n')).toBe(true);
    expect(acceptsShellLines('no shebang\n')).toBe(true);
    expect(acceptsShellLines('#!/usr/bin/env node\n')).toBe(false);
    expect(acceptsShellLines('#!/usr/bin/python3\n')).toBe(false);
  });
});
