/**
 * The TCP listener's guard (DESIGN.md section 12), in the order a browser attack meets it:
 * a `Host` other than `127.0.0.1:<port>` or `localhost:<port>` is 421 (a DNS-rebinding
 * page reaches 127.0.0.1 under its own name); a non-GET whose `Origin` is not the
 * daemon's own is 403 (a page elsewhere posting to us); no or a wrong bearer token is
 * 401. The token is compared in constant time, and never read from a query string.
 * The Unix socket needs none of this: its file permissions are the guard.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ExitCode } from '../shared/errors.js';
import { HttpError } from './http.js';

export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export function checkHost(req: IncomingMessage, port: number): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowedHosts(port).has(host))
    throw new HttpError(421, `Host ${JSON.stringify(host.slice(0, 100))} is not this API; use http://127.0.0.1:${port}`, ExitCode.usage, 'Host');
}

export function checkOrigin(req: IncomingMessage, port: number): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  const origin = req.headers.origin;
  if (origin === undefined) return; // not a browser: curl, the CLI
  const own = new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  if (!own.has(origin.toLowerCase()))
    throw new HttpError(403, `requests from origin ${JSON.stringify(origin.slice(0, 100))} are refused`, ExitCode.usage, 'Origin');
}

export function checkToken(req: IncomingMessage, token: string): void {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  if (!m || !sameSecret(m[1]!, token))
    throw new HttpError(
      401,
      m ? 'wrong API token' : 'missing API token: send "Authorization: Bearer <token>" (the token is in the api-token file beside config.json)',
      ExitCode.usage,
      'Authorization',
      { 'www-authenticate': 'Bearer' },
    );
}

/** Equal-length digests, so neither the content nor the length leaks through timing. */
function sameSecret(given: string, token: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}
