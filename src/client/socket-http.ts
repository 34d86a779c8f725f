/**
 * One HTTP exchange with the user daemon over its control socket, on node:net rather than
 * node:http: a fresh process pays about 10 ms to set up node:http's client before its
 * first request goes out (a request to the socket answered in 16 ms instead of 6 on the
 * CI machine type), and the one-shot CLI pays that on every `sync-now`, where the whole
 * raw git pipeline it is compared with takes about 55 ms.
 *
 * The request is HTTP/1.0, so the daemon's server (node:http) answers without chunked
 * encoding and closes the connection when the body ends: the reader needs only the status
 * line and the blank line that ends the headers; the rest is the body, as it arrives.
 */
import { connect } from 'node:net';

export interface SocketAnswer {
  status: number;
  /** The body's bytes as they arrive, until the daemon closes the connection. */
  body: AsyncIterable<Buffer>;
  /** Drop the connection without reading the body. */
  close(): void;
}

const MAX_HEAD = 64 * 1024;

/** null when nobody answers (no socket, a refused or reset connection, not HTTP). */
export async function socketCall(socketPath: string, method: string, path: string, body?: unknown): Promise<SocketAnswer | null> {
  const data = body === undefined ? null : Buffer.from(JSON.stringify(body), 'utf8');
  const sock = connect(socketPath);
  const chunks = sock[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head = [`${method} ${path} HTTP/1.0`, 'Host: localhost'];
  if (data) head.push('Content-Type: application/json', `Content-Length: ${data.length}`);
  sock.write(`${head.join('\r\n')}\r\n\r\n`);
  if (data) sock.write(data);
  try {
    let buf = Buffer.alloc(0);
    for (;;) {
      const next = await chunks.next();
      if (next.done) throw new Error('closed before the headers');
      buf = Buffer.concat([buf, next.value]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD) throw new Error('headers too long');
        continue;
      }
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(buf.subarray(0, end).toString('latin1'));
      if (!status) throw new Error('not an HTTP answer');
      const rest = buf.subarray(end + 4);
      return {
        status: Number(status[1]),
        body: (async function* () {
          if (rest.length) yield rest;
          for (;;) {
            const more = await chunks.next();
            if (more.done) return;
            yield more.value;
          }
        })(),
        close: () => sock.destroy(),
      };
    }
  } catch {
    // Refused or absent (a killed daemon's socket), or no daemon of ours: the CLI runs.
    sock.destroy();
    return null;
  }
}
