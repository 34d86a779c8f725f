#!/usr/bin/env node
// Seed-compatible alias: `sync-now` = `sync-coordinator sync-now` (the control socket first).
import { tryControlSocket } from '../client/fast-path.js';

const argv = ['sync-now', ...process.argv.slice(2)];
const code = await tryControlSocket(argv, 'sync-now');
if (code === null) {
  const { main } = await import('../cli/main.js');
  await main(argv, 'sync-now');
} else process.exitCode = code;
