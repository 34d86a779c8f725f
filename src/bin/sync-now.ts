#!/usr/bin/env node
// Seed-compatible alias: `sync-now` = `sync-coordinator sync-now` (the control socket first).
import { tryControlSocket } from '../client/fast-path.js';

const argv = ['sync-now', ...process.argv.slice(2)];
const code = await tryControlSocket(argv, 'sync-now');
if (code === null) {
  const { main } = await import('../cli/main.js');
  await main(argv, 'sync-now');
} else {
  // Answered through the control socket: leave as soon as the output is flushed, not when
  // the socket's close and Node's teardown are done (a few ms of every sync-now).
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r()))));
  process.exit(code);
}
