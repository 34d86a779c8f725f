#!/usr/bin/env node
// `npm run bench`: every figure the issues name, each against a baseline measured in
// the same run; prints a table and writes bench/results.json.
// Usage: node bench/run.mjs [figure ...]   (default: all)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, ROOT } from './lib.mjs';

const ALL = ['lock', 'enqueue', 'coalescing', 'sync-overhead', 'error-recovery', 'hook-overhead', 'watcher', 'daemon-footprint'];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
const unknown = wanted.filter((w) => !ALL.includes(w));
if (unknown.length) {
  console.error(`bench: unknown figure(s) ${unknown.join(', ')}; valid: ${ALL.join(', ')}`);
  process.exit(2);
}

const results = { date: new Date().toISOString(), machine: machine(), figures: {} };
for (const name of wanted) {
  process.stderr.write(`bench: ${name} ...\n`);
  const started = performance.now();
  try {
    const mod = await import(`./figures/${name}.mjs`);
    results.figures[name] = { ...(await mod.run()), seconds: Math.round((performance.now() - started) / 100) / 10 };
  } catch (e) {
    results.figures[name] = { error: String(e?.stack ?? e) };
  }
}

const rows = Object.entries(results.figures).map(([name, f]) => {
  if (f.error) return [name, 'ERROR', f.error.split('\n')[0], '', ''];
  return [name, f.figure, summary(f), f.target ?? '', f.pass === undefined ? '' : f.pass ? 'pass' : 'MISS'];
});
const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => String(r[i]).length), 6));
console.log(`sync-coordinator bench — ${results.date} — ${results.machine.node}, ${results.machine.git}, ${results.machine.cpus} cpus`);
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  '));
const out = join(ROOT, 'bench', 'results.json');
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(`\nwritten: ${out}`);
if (Object.values(results.figures).some((f) => f.error)) process.exitCode = 1;

function summary(f) {
  const parts = [];
  if (f.ratio !== undefined) parts.push(`ratio ${f.ratio}`);
  if (f.overhead_ms !== undefined) parts.push(`overhead ${f.overhead_ms} ms`);
  if (f.median_ms !== undefined) parts.push(`median ${f.median_ms} ms`);
  if (f.baseline_median_ms !== undefined) parts.push(`baseline ${f.baseline_median_ms} ms (${f.baseline})`);
  if (f.summary) parts.push(f.summary);
  return parts.join('; ');
}
