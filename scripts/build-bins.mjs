#!/usr/bin/env node
// Bundles the bins into dist/bin/ (part of `npm run build`, after tsc has type-checked),
// and the in-process modules of the bench and the lock tests into dist/internal/
// (scripts/internals.ts). Nothing else is emitted: the package ships dist/bin (and the
// dashboard's static files, dist/dashboard, from scripts/build-dashboard.mjs).
//
// Why bundle: a hook or script starts a fresh node for every request, and resolving and
// compiling ~60 separate ES modules (plus commander's and proper-lockfile's CommonJS
// files) was a third of sync-now's own time. Code splitting keeps every command's
// code in its own chunk, still loaded only when that command runs (zod, the conflict
// machinery and the daemon never load for a plain sync).
//
// pino, pino-roll and pino-pretty stay external: pino finds its worker and transport
// files by path at run time, which a bundle would break. All chunks sit in one
// directory, so `import.meta.url` means the same folder in each of them.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bin');
const STALE_MS = 10 * 60_000;
const builtAt = Date.now();

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['pino', 'pino-roll', 'pino-pretty'],
  // Bundled CommonJS packages (commander, proper-lockfile) call require() for node's
  // own modules; an ES module has no require of its own.
  banner: { js: "import { createRequire as __scCreateRequire } from 'node:module'; const require = __scCreateRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
};

// The CLI and everything it loads: split into chunks, each loaded when its command runs.
const cli = await build({
  ...common,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  splitting: true,
  metafile: true,
});

// The bins: each one file with the control-socket client inlined, because every module a
// fresh process loads costs it (about 5 ms for the client's 7 chunks, on a sync-now
// through the daemon that takes ~80 ms); the CLI is imported from main.js only when the
// daemon does not answer.
const cliOutside = {
  name: 'cli-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/cli\/main\.js$/ }, () => ({ path: './main.js', external: true }));
  },
};
const bins = await build({
  ...common,
  entryPoints: ['src/bin/sync-coordinator.ts', 'src/bin/sync-now.ts', 'src/bin/claude-sync-daemon.ts'],
  outdir,
  splitting: false,
  metafile: true,
  plugins: [cliOutside],
});
await build({ ...common, entryPoints: ['scripts/internals.ts'], outdir: join(root, 'dist', 'internal') });

// Earlier builds compiled every module with tsc; those copies are no consumer's now.
for (const old of ['src', 'watcher', 'hooks']) {
  const dir = join(root, 'dist', old);
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

// Chunks of earlier builds are removed only once they are old: a daemon or a test
// process started before this build may still lazy-load them by their hashed names.
const current = new Set([...Object.keys(cli.metafile.outputs), ...Object.keys(bins.metafile.outputs)].map((f) => join(root, f)));
for (const name of readdirSync(outdir)) {
  const file = join(outdir, name);
  if (!current.has(file) && builtAt - statSync(file).mtimeMs > STALE_MS) rmSync(file, { force: true });
}
