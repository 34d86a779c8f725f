#!/usr/bin/env node
// The control-socket client first (it loads no commander, pino or zod); the CLI only
// when the user daemon does not serve this work tree.
import { tryControlSocket } from '../client/fast-path.js';

const argv = process.argv.slice(2);
const code = await tryControlSocket(argv);
if (code === null) {
  const { main } = await import('../cli/main.js');
  await main(argv);
} else {
  // Answered through the control socket: leave as soon as the output is flushed, not when
  // the socket's close and Node's teardown are done (a few ms of every sync-now).
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((r) => s.write('', () => r()))));
  process.exit(code);
}
