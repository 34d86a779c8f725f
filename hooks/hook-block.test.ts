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
  removeBlocks,
  shebangInterpreter,
} from './hook-block.js';

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

  test('the block runs our script guarded, with stdin closed, and names no absolute path', () => {
    const block = blockText('pre-push');
    expect(block).toContain('[ -f .claude/sync-coordination/hooks/pre-push.sh ] && sh .claude/sync-coordination/hooks/pre-push.sh </dev/null || true\n');
    expect(block).not.toMatch(/(^|\s)\//m);
    expect(block).not.toMatch(/^\s*exit\b/m);
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
