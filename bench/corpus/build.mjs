#!/usr/bin/env node
// Builds the merge corpus (bench/corpus/*.corpus.json.gz) from real public histories.
// Usage: node bench/corpus/build.mjs [SOURCE_DIR]   (default /work/shared/corpus)
// SOURCE_DIR holds NAME.bundle (branch `history`, one commit per change of the files)
// and NAME-merges.jsonl.gz (real merge commits whose parents conflict under git's line
// merge); see SOURCES.md. Deterministic: the same sources give the same corpus.
//
// Two kinds of case:
// - `replay`: consecutive versions i-1, i, i+1 of a file. base = v(i-1), ours = v(i),
//   theirs = commit i+1's own change applied alone to v(i-1) (`git merge-file` with
//   v(i) as the base; kept only when that applies cleanly), expected = v(i+1).
// - `merge`: a real merge commit; base/ours/theirs from it, expected = what was committed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CORPUS_DIR } from './load.mjs';
import { encodeDelta } from './codec.mjs';
import { resultKeepsBothSides } from './intent.mjs';
import { makeSandboxDir } from '../../test/helpers/sandbox.mjs';

const SRC = process.argv[2] ?? '/work/shared/corpus';
// At most this many replay cases per file, spread evenly over its history (every
// k-th triple, k = ceil(triples / MAX)), so the corpus stays small and the figure quick.
const MAX_REPLAY_PER_FILE = 1000;
// Real merges: all of them (152 for express, 4 for the-art-of-command-line).
const MAX_MERGES_PER_FILE = 1000;

const SETS = [
  { set: 'awesome', files: ['readme.md'], source: 'sindresorhus/awesome', license: 'CC0-1.0' },
  { set: 'the-art-of-command-line', files: ['README.md'], source: 'jlevy/the-art-of-command-line', license: 'CC-BY-SA-4.0' },
  { set: 'express', files: ['History.md', 'package.json'], source: 'expressjs/express', license: 'MIT' },
];

const { dir: tmp, env, cleanup } = makeSandboxDir('sc-corpus-');
// Its own git rather than the sandbox's: blobs come back as bytes (checked as UTF-8 below), some large.
const git = (cwd, args, opts = {}) => execFileSync('git', args, { cwd, env, maxBuffer: 1 << 30, ...opts });
// Scratch files of `git merge-file`, rewritten by every applyAlone.
const scratch = join(tmp, 'merge-file');
mkdirSync(scratch);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function every(list, max) {
  const k = Math.ceil(list.length / max);
  return list.filter((_, i) => i % k === 0);
}

/** Versions of one file along the history branch: [{ text, time, sha, source }], consecutive duplicates dropped. */
function versions(repo, path) {
  const log = git(repo, ['log', '--reverse', '--format=%H %ct %(trailers:key=Source-Commit,valueonly,separator=)', 'history', '--', path], { encoding: 'utf8' });
  const out = [];
  for (const line of log.trim().split('\n')) {
    const [sha, ct, source] = line.trim().split(/\s+/);
    let text;
    try {
      text = utf8.decode(git(repo, ['cat-file', 'blob', `${sha}:${path}`]));
    } catch {
      continue; // deleted in this commit, or not UTF-8
    }
    if (out.length && out[out.length - 1].text === text) continue;
    out.push({ text, time: Number(ct) * 1000, sha, source: source || sha });
  }
  return out;
}

/** theirs = v(i+1)'s own change applied to v(i-1), or null when it does not apply cleanly. */
function applyAlone(prev, mid, next) {
  writeFileSync(join(scratch, 'cur'), prev);
  writeFileSync(join(scratch, 'base'), mid);
  writeFileSync(join(scratch, 'other'), next);
  try {
    return utf8.decode(git(scratch, ['merge-file', '-p', 'cur', 'base', 'other'], { stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return null; // exit code > 0: conflicts
  }
}

/** A blob table where each blob is a line delta against a reference blob. */
function blobTable() {
  const blobs = [];
  const texts = [];
  const index = new Map();
  return {
    blobs,
    add(text, refIndex = -1) {
      if (index.has(text)) return index.get(text);
      const ref = refIndex >= 0 ? texts[refIndex] : '';
      blobs.push([refIndex, encodeDelta(ref, text)]);
      texts.push(text);
      index.set(text, texts.length - 1);
      return texts.length - 1;
    },
  };
}

try {
  for (const s of SETS) {
    const repo = join(tmp, s.set);
    git(tmp, ['clone', '-q', '--bare', join(SRC, `${s.set}.bundle`), repo]);
    const table = blobTable();
    const cases = [];
    const stats = {};
    for (const path of s.files) {
      const vs = versions(repo, path);
      const triples = [];
      for (let i = 1; i + 1 < vs.length; i++) triples.push(i);
      let clean = 0;
      let undoing = 0;
      let lastVersion = -1;
      for (const i of every(triples, MAX_REPLAY_PER_FILE)) {
        const [p, m, n] = [vs[i - 1], vs[i], vs[i + 1]];
        const theirs = applyAlone(p.text, m.text, n.text);
        if (theirs === null || theirs === p.text || theirs === n.text) continue;
        // Commit i+1 undid part of commit i: v(i+1) is then no merge of ours and theirs.
        if (!resultKeepsBothSides(p.text, m.text, theirs, n.text)) {
          undoing++;
          continue;
        }
        clean++;
        const b = table.add(p.text, lastVersion);
        const o = table.add(m.text, b);
        const e = table.add(n.text, o);
        lastVersion = e;
        const t = table.add(theirs, b);
        cases.push({ kind: 'replay', path, base: b, ours: o, theirs: t, expected: e, oursTime: m.time, theirsTime: n.time, source: `${s.source}@${n.source}` });
      }
      stats[path] = { versions: vs.length, triples: triples.length, sampled: every(triples, MAX_REPLAY_PER_FILE).length, replay_cases: clean, dropped_undoing: undoing };
    }
    const mergesFile = join(SRC, `${s.set}-merges.jsonl.gz`);
    const merges = gunzipSync(readFileSync(mergesFile)).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    for (const path of s.files) {
      const mine = merges.filter((m) => m.path === path);
      let last = -1;
      const kept = every(mine, MAX_MERGES_PER_FILE);
      for (const m of kept) {
        const b = m.base === null ? null : table.add(m.base, last);
        const o = table.add(m.ours, b ?? last);
        const t = table.add(m.theirs, b ?? last);
        const e = table.add(m.result, o);
        last = e;
        // The merges file has no commit times: the first parent counts as the earlier.
        cases.push({ kind: 'merge', path, base: b, ours: o, theirs: t, expected: e, oursTime: 0, theirsTime: 1, source: `${s.source}@${m.source_merge}` });
      }
      stats[path] = { ...stats[path], real_merges: mine.length, merge_cases: kept.length };
    }
    const out = join(CORPUS_DIR, `${s.set}.corpus.json.gz`);
    writeFileSync(out, gzipSync(JSON.stringify({ set: s.set, sources: [{ repo: s.source, license: s.license, files: s.files }], stats, blobs: table.blobs, cases }), { level: 9 }));
    console.log(`${s.set}: ${cases.length} cases, ${JSON.stringify(stats)}, ${readFileSync(out).length} bytes`);
  }
} finally {
  cleanup();
}
