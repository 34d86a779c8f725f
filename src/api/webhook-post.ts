/**
 * One try of one webhook delivery: a signed JSON POST over node:http(s), bounded by a
 * deadline, that never follows a redirect (node:http does not) and never reads more of
 * the answer than its status line. The signature is GitHub's: `sha256=` and the hex
 * HMAC-SHA256 of the exact body bytes with the hook's secret.
 */
import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export function signBody(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface TryResult {
  /** HTTP status, or null when no answer came (refused, reset, timeout). */
  status: number | null;
  error: string | null;
}

export type TryVerdict = 'delivered' | 'retry' | 'final';

/** 2xx delivered; 4xx is the receiver's final word except 408 and 429; anything else (3xx, 5xx, no answer) is tried again. */
export function verdict(r: TryResult): TryVerdict {
  if (r.status === null) return 'retry';
  if (r.status >= 200 && r.status < 300) return 'delivered';
  if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) return 'final';
  return 'retry';
}

export function postOnce(url: string, body: Buffer, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<TryResult> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return resolve({ status: null, error: 'invalid URL' });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return resolve({ status: null, error: `unsupported scheme ${u.protocol}` });
    let done = false;
    const finish = (r: TryResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    // agent: false: one connection per try, closed after it, so a receiver that hangs
    // holds nothing of ours past the deadline.
    const req = send(u, { method: 'POST', headers: { ...headers, 'content-length': String(body.length) }, agent: false }, (res) => {
      const status = res.statusCode ?? null;
      res.destroy();
      finish(status !== null && status >= 200 && status < 300 ? { status, error: null } : { status, error: `HTTP ${status}` });
    });
    const timer = setTimeout(() => {
      finish({ status: null, error: `no answer within ${timeoutMs / 1000} s` });
      req.destroy();
    }, timeoutMs);
    const onAbort = () => {
      finish({ status: null, error: 'stopped (the daemon is shutting down)' });
      req.destroy();
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => finish({ status: null, error: e.message }));
    req.end(body);
  });
}
