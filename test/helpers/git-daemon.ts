/**
 * A real `git daemon` on 127.0.0.1 serving a base directory (`--export-all
 * --enable=receive-pack --base-path`), for network faults: stop it and the remote is
 * "down" (connection refused), start it again on the same port and it is back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { waitFor } from './sandbox.mjs';

export interface GitDaemon {
  port: number;
  /** `git://127.0.0.1:<port>/<name>` */
  url(name: string): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startGitDaemon(basePath: string, env: NodeJS.ProcessEnv): Promise<GitDaemon> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const daemon: GitDaemon = {
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    get running() {
      return child !== null;
    },
    async start() {
      if (child) return;
      const c = spawn(
        'git',
        ['daemon', '--reuseaddr', '--listen=127.0.0.1', `--port=${port}`, '--export-all', '--enable=receive-pack', `--base-path=${basePath}`, basePath],
        {
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      c.stderr?.resume();
      child = c;
      c.once('exit', () => {
        if (child === c) child = null;
      });
      await waitFor(() => canConnect(port), { timeoutMs: 10_000, what: `git daemon on port ${port}` });
    },
    async stop() {
      const c = child;
      if (!c) return;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      await exited;
      child = null;
      await waitFor(async () => !(await canConnect(port)), { timeoutMs: 10_000, what: `git daemon on port ${port} to stop` });
    },
  };
  await daemon.start();
  return daemon;
}
