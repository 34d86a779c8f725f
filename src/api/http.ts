/**
 * The small HTTP vocabulary every route shares: the error a handler throws to answer
 * 4xx/5xx (`{error, field?, exit_code}`), the JSON answer, and the bounded JSON body
 * reader. Kept apart from the routes so that a route module needs nothing else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CoordinatorError, ExitCode } from '../shared/errors.js';

/** Bodies over this are refused with 413 before they are read in full. */
export const MAX_BODY = 64 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly exitCode: number = ExitCode.usage,
    readonly field: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Bad input in one field: 400 naming it (a UsageError from the shared parsers keeps its text). */
export function badField(field: string, e: unknown): HttpError {
  return new HttpError(400, e instanceof Error ? e.message : String(e), ExitCode.usage, field);
}

/** A whole-number query parameter from 1 to `max` (`fallback` when absent); 400 naming it otherwise. */
export function wholeQuery(url: URL, name: string, fallback: number, max: number): number {
  const raw = url.searchParams.get(name);
  const n = raw === null ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw badField(name, new Error(`${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(raw)}`));
  return n;
}

export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** An answer already serialized (a cached view). */
export function sendJsonText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

/** Bad input is the caller's (400); a lock held past the timeout is a conflict of state (409). */
const STATUS_OF_EXIT: Record<number, number> = { [ExitCode.usage]: 400, [ExitCode.lockBusy]: 409 };

/** The JSON error answer for anything a handler threw. */
export function sendError(res: ServerResponse, e: unknown): void {
  const status = e instanceof HttpError ? e.status : e instanceof CoordinatorError ? (STATUS_OF_EXIT[e.exitCode] ?? 500) : 500;
  const exitCode = e instanceof HttpError ? e.exitCode : e instanceof CoordinatorError ? e.exitCode : ExitCode.syncFailed;
  const message = e instanceof Error ? e.message : String(e);
  if (res.headersSent) {
    // A streaming answer already started: end it with an error line the client reads.
    if (!res.writableEnded) res.end(JSON.stringify({ event: 'error', error: message, exit_code: exitCode }) + '\n');
    return;
  }
  const field = e instanceof HttpError && e.field ? { field: e.field } : {};
  send(res, status, { error: message, ...field, exit_code: exitCode }, e instanceof HttpError ? e.headers : {});
}

/** The request body as a JSON object ({} when empty); 413 over MAX_BODY, 400 when not a JSON object. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY) throw tooLarge();
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(c);
  }
  if (size === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON; send a JSON object', ExitCode.usage, 'body');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the request body must be a JSON object', ExitCode.usage, 'body');
  return v as Record<string, unknown>;
}

function tooLarge(): HttpError {
  return new HttpError(413, `request body over ${MAX_BODY} bytes`, ExitCode.usage, 'body', { connection: 'close' });
}
