#!/usr/bin/env node
// `npm run bench`: every figure the issues name, each against a baseline measured in
// the same run; prints a table and writes bench/results.json.
// Usage: node bench/run.mjs [figure ...]   (default: all)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine, ROOT } from './lib.mjs';

const ALL = [
  'lock',
  'enqueue',
  'coalescing',
  'sync-overhead',
  'error-recovery',
  'hook-overhead',
  'watcher',
  'daemon-footprint',
  'auto-merge',
  'sync-overhead-daemon',
  'daemon-scale',
  'propagation',
  'api',
];
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
const unknown = wanted.filter((w) => !ALL.includes(w));
if (unknown.length) {
  console.error(`bench: unknown figure(s) ${unknown.join(', ')}; valid: ${ALL.join(', ')}`);
  process.exit(2);
}

const out = join(ROOT, 'bench', 'results.json');
const results = { date: new Date().toISOString(), machine: machine(), figures: {} };
const measured = {};
for (const name of wanted) {
  process.stderr.write(`bench: ${name} ...\n`);
  const started = performance.now();
  const at = new Date().toISOString();
  try {
    const mod = await import(`./figures/${name}.mjs`);
    measured[name] = { ...(await mod.run()), seconds: Math.round((performance.now() - started) / 100) / 10, measured_at: at };
  } catch (e) {
    measured[name] = { error: String(e?.stack ?? e), measured_at: at };
  }
}
// A run of some figures updates those in results.json and keeps the others, each with
// its own measured_at, so measuring one figure again does not throw the rest away.
results.figures = { ...previousFigures(), ...measured };

const rows = Object.entries(measured).map(([name, f]) => {
  if (f.error) return [name, 'ERROR', f.error.split('\n')[0], '', ''];
  return [name, f.figure, summary(f), f.target ?? '', f.pass === undefined ? '' : f.pass ? 'pass' : 'MISS'];
});
const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => String(r[i]).length), 6));
console.log(`sync-coordinator bench — ${results.date} — ${results.machine.node}, ${results.machine.git}, ${results.machine.cpus} cpus`);
for (const r of rows) console.log(r.map((c, i) => String(c).padEnd(widths[i])).join('  '));
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
const kept = Object.keys(results.figures).filter((n) => !(n in measured));
console.log(`\nwritten: ${out}${kept.length ? ` (kept from earlier runs: ${kept.join(', ')})` : ''}`);
if (Object.values(measured).some((f) => f.error)) process.exitCode = 1;

function previousFigures() {
  if (!existsSync(out)) return {};
  try {
    const prev = JSON.parse(readFileSync(out, 'utf8'));
    const figures = {};
    for (const [name, f] of Object.entries(prev.figures ?? {})) {
      if (ALL.includes(name)) figures[name] = { measured_at: prev.date, ...f };
    }
    return figures;
  } catch {
    return {};
  }
}

function summary(f) {
  const parts = [];
  if (f.ratio !== undefined) parts.push(`ratio ${f.ratio}`);
  if (f.overhead_ms !== undefined) parts.push(`overhead ${f.overhead_ms} ms`);
  if (f.median_ms !== undefined) parts.push(`median ${f.median_ms} ms`);
  if (f.baseline_median_ms !== undefined) parts.push(`baseline ${f.baseline_median_ms} ms (${f.baseline})`);
  if (f.summary) parts.push(f.summary);
  return parts.join('; ');
}
