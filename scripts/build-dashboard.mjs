#!/usr/bin/env node
// Copies the dashboard (DESIGN.md section 12) into dist/dashboard/: the page's own files
// from dashboard/ and uPlot's minified script and stylesheet from node_modules, so the
// package ships everything the page loads (no CDN, no build step at run time). The
// names must match the allow-list of src/api/dashboard.ts, which serves them.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'dashboard');
const uplotDist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const own = readdirSync(join(root, 'dashboard')).filter((f) => /\.(html|js|css|svg)$/.test(f));
for (const f of own) copyFileSync(join(root, 'dashboard', f), join(outdir, f));
copyFileSync(join(uplotDist, 'uPlot.iife.min.js'), join(outdir, 'uPlot.min.js'));
copyFileSync(join(uplotDist, 'uPlot.min.css'), join(outdir, 'uPlot.min.css'));
console.log(`dashboard: ${own.length + 2} files in ${outdir}`);
