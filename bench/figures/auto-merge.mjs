// Auto-merge rate (DESIGN.md sections 10 and 13, issue 13): every case of the corpus
// built from real histories (bench/corpus/, see SOURCES.md) goes through the resolver
// with the strategy its path gets from the default rules. A case is "merged" when the
// result equals the expected version (both sides' changes), "unresolved" when the
// resolver leaves it to a conflict copy, "wrong" when it merged to anything else (must
// be 0). Baseline: git's own `git merge-file` on the same cases (clean = no conflict).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultKeepsBothSides } from '../corpus/intent.mjs';
import { loadCorpus } from '../corpus/load.mjs';
import { round, ROOT } from '../lib.mjs';
import { makeSandboxDir } from '../../test/helpers/sandbox.mjs';

export const name = 'auto-merge';

function gitMergeFile({ dir, env }, c) {
  writeFileSync(join(dir, 'ours'), c.ours);
  writeFileSync(join(dir, 'base'), c.base ?? '');
  writeFileSync(join(dir, 'theirs'), c.theirs);
  try {
    const out = execFileSync('git', ['merge-file', '-p', 'ours', 'base', 'theirs'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
    return { clean: true, expected: out.toString('utf8') === c.expected };
  } catch {
    return { clean: false, expected: false };
  }
}

function tally() {
  return { cases: 0, merged: 0, unresolved: 0, wrong: 0, rewritten_cases: 0, rewritten_merged: 0, git_clean: 0, git_clean_not_expected: 0, resolver_ms: 0 };
}

function add(t, r) {
  for (const k of Object.keys(t)) t[k] += r[k] ?? 0;
}

function rates(t) {
  const pct = (n) => round((100 * n) / Math.max(t.cases, 1), 1);
  return { ...t, resolver_ms: round(t.resolver_ms, 0), merged_pct: pct(t.merged), unresolved_pct: pct(t.unresolved), git_clean_pct: pct(t.git_clean) };
}

export async function run({ corpusDir } = {}) {
  // The resolver in-process, from the build's bundle of internals (scripts/internals.ts).
  const { mergeFile, strategyFor, DEFAULT_MERGE_RULES } = await import(join(ROOT, 'dist', 'internal', 'internals.js'));
  const sandbox = makeSandboxDir('sc-bench-merge-');
  const perSet = {};
  const total = tally();
  const wrong = [];
  const rewrittenMerged = [];
  try {
    for (const { set, cases } of loadCorpus(corpusDir)) {
      for (const c of cases) {
        const key = `${set}/${c.path} (${c.kind})`;
        perSet[key] ??= tally();
        const strategy = strategyFor(c.path, DEFAULT_MERGE_RULES);
        const t = performance.now();
        const r = mergeFile({
          path: c.path,
          base: c.base === null ? null : Buffer.from(c.base),
          local: Buffer.from(c.ours),
          remote: Buffer.from(c.theirs),
          localTime: c.oursTime,
          remoteTime: c.theirsTime,
          strategy,
        });
        const ms = performance.now() - t;
        const ok = r.status === 'merged' && r.content.toString('utf8') === c.expected;
        // A real merge whose committed result drops a side's change or adds lines
        // neither side had was rewritten by a person: no merge of the two sides can
        // equal it. Counted apart (rewritten_*), never as merged; a resolver merge of
        // such a case is listed in rewritten_merged_cases for review.
        const rewritten = c.kind === 'merge' && !ok && !resultKeepsBothSides(c.base, c.ours, c.theirs, c.expected);
        const isWrong = r.status === 'merged' && !ok && !rewritten;
        if (isWrong) wrong.push({ source: c.source, path: c.path, kind: c.kind, strategy });
        if (rewritten && r.status === 'merged' && !ok) rewrittenMerged.push({ source: c.source, path: c.path, strategy });
        const g = gitMergeFile(sandbox, c);
        const row = {
          cases: 1,
          merged: ok ? 1 : 0,
          unresolved: r.status === 'unresolved' ? 1 : 0,
          wrong: isWrong ? 1 : 0,
          rewritten_cases: rewritten ? 1 : 0,
          rewritten_merged: rewritten && r.status === 'merged' && !ok ? 1 : 0,
          git_clean: g.clean ? 1 : 0,
          git_clean_not_expected: g.clean && !g.expected ? 1 : 0,
          resolver_ms: ms,
        };
        add(perSet[key], row);
        add(total, row);
      }
    }
  } finally {
    sandbox.cleanup();
  }
  const all = rates(total);
  return {
    figure: 'auto-merge rate on real histories (corpus in bench/corpus)',
    summary: `${all.cases} cases: merged ${all.merged_pct}%, unresolved ${all.unresolved_pct}%, wrong ${all.wrong}, person-rewritten merges ${all.rewritten_cases} (resolver merged ${all.rewritten_merged}); git merge-file clean ${all.git_clean_pct}%`,
    target: 'wrong merges = 0',
    pass: all.wrong === 0,
    total: all,
    per_set: Object.fromEntries(Object.entries(perSet).map(([k, v]) => [k, rates(v)])),
    wrong_cases: wrong,
    rewritten_merged_cases: rewrittenMerged,
  };
}
