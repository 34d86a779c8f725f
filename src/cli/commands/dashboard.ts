/**
 * `dashboard`: the link to the user daemon's dashboard (DESIGN.md section 12), with the
 * API token in the URL fragment. A fragment never leaves the browser (no request line,
 * no Referer, no proxy log), so the token is only in this terminal and the page's tab.
 * Before printing, the link is checked against the running API, so a printed link
 * works; when it cannot work the error says what to start or change.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { DaemonUnavailableError } from '../../shared/errors.js';
import { readDaemonInfo } from '../../core/pidfile.js';
import { userPaths } from '../../shared/user-paths.js';
import { apiTokenPath, readApiEndpoint, readApiToken } from '../../api/api-settings.js';
import type { CommandContext } from '../context.js';

const PROBE_TIMEOUT_MS = 3_000;

export async function run(ctx: CommandContext, opts: { open?: boolean; json?: boolean }): Promise<number> {
  const up = userPaths();
  const daemon = await readDaemonInfo(up.daemonPid);
  if (!daemon.running || daemon.pid === null)
    throw new DaemonUnavailableError('the user daemon is not running, so there is no dashboard to open; start it with: sync-coordinator daemon start');
  const api = await readApiEndpoint(up, daemon.pid);
  const restart = 'sync-coordinator daemon stop && sync-coordinator daemon start';
  if (!api)
    throw new DaemonUnavailableError(
      `the user daemon (pid ${daemon.pid}) has not reported an API yet: it may still be starting (try again), or predate the API (restart it: ${restart})`,
    );
  if (!api.enabled)
    throw new DaemonUnavailableError(`the API is off ("api": {"enabled": false} in ${up.config}); set it to true, then restart the daemon: ${restart}`);
  if (!api.listening || api.port === null)
    throw new DaemonUnavailableError(
      `the user daemon (pid ${daemon.pid}) runs but its API does not listen: ${api.error ?? 'not listening'}; see: sync-coordinator daemon status`,
    );
  const token = await readApiToken(up);
  const tokenFile = apiTokenPath(up);
  if (token === null) throw new DaemonUnavailableError(`no API token in ${tokenFile}: restart the daemon, which writes it: ${restart}`);
  const probe = await probeApi(api.port, token);
  if (probe === 'unreachable')
    throw new DaemonUnavailableError(
      `nothing answers on 127.0.0.1:${api.port}, where the user daemon (pid ${daemon.pid}) said its API listens; see: sync-coordinator daemon status`,
    );
  if (probe === 'refused')
    throw new DaemonUnavailableError(
      `the API on 127.0.0.1:${api.port} refused the token in ${tokenFile} (was the file replaced after the daemon started?); restart it: ${restart}`,
    );

  const url = `http://127.0.0.1:${api.port}/#token=${encodeURIComponent(token)}`;
  const opener = opts.open === false ? null : browserOpener();
  const opened = opener ? await openUrl(opener, url) : false;
  if (opts.json) {
    ctx.out(JSON.stringify({ url, opened }));
    return 0;
  }
  ctx.out(url);
  ctx.err(
    opened
      ? 'opened in your browser (the token is in the part after "#", which the browser never sends over the network)'
      : 'open this link in a browser on this machine; it carries your API token, so do not share it',
  );
  return 0;
}

/** xdg-open on a Linux desktop, open on macOS; null without a display (ssh, CI). */
function browserOpener(env = process.env, platform = process.platform): string | null {
  if (platform === 'darwin') return 'open';
  if (platform === 'linux' || platform === 'freebsd') return env.DISPLAY || env.WAYLAND_DISPLAY ? 'xdg-open' : null;
  return null;
}

/**
 * Runs the opener without a shell (the URL is one argv element), detached: xdg-open may
 * wait for the browser it started, and this command must not.
 */
function openUrl(opener: string, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const child = spawn(opener, [url], { stdio: 'ignore', detached: true, shell: false });
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
      child.once('error', () => resolve(false));
    } catch {
      resolve(false);
    }
  });
}

/** Asks the API itself, with the token, whether the link would work. */
function probeApi(port: number, token: string): Promise<'ok' | 'refused' | 'unreachable'> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/workspaces',
        headers: { host: `127.0.0.1:${port}`, authorization: `Bearer ${token}` },
        timeout: PROBE_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? 'ok' : res.statusCode === 401 || res.statusCode === 403 ? 'refused' : 'unreachable');
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('unreachable'));
    req.end();
  });
}
