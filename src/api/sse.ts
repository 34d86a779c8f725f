/**
 * `GET /api/v1/events`: the event bus as Server-Sent Events (`id:`, `event:` the type,
 * `data:` the event as JSON). A client that reconnects with `Last-Event-ID` gets what it
 * missed from the bus's ring; when the gap is older than the ring it gets one
 * `event: reset` (its state is stale: reload it) and the stream goes on from now.
 * `?workspace=<id>` keeps one workspace's events (daemon-wide ones too). A comment line
 * every 15 s keeps proxies and idle timeouts from closing a quiet stream.
 */
import type { BusEvent } from '../shared/events.js';
import { badField } from './http.js';
import type { Route, RouteContext } from './router.js';

export const HEARTBEAT_MS = 15_000;

export const eventRoutes: Route[] = [{ method: 'GET', path: '/api/v1/events', handler: events }];

function events(c: RouteContext): void {
  const { req, res, url, deps } = c;
  const filter = url.searchParams.get('workspace');
  if (filter !== null && !deps.byId(filter)) throw badField('workspace', new Error(`no workspace with id ${JSON.stringify(filter)} is registered`));
  const header = req.headers['last-event-id'];
  const raw = Array.isArray(header) ? header[0] : header;
  let last: number | null = null;
  if (raw !== undefined && raw.trim() !== '') {
    last = Number(raw);
    if (!Number.isInteger(last) || last < 0)
      throw badField('Last-Event-ID', new Error('Last-Event-ID must be the id of an event this stream sent (a whole number)'));
  }
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  req.socket.setNoDelay(true);
  req.socket.setTimeout(0);
  const wanted = (e: BusEvent) => filter === null || e.workspace === null || e.workspace === filter;
  const write = (e: BusEvent) => {
    if (wanted(e)) res.write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  // Subscribe before replaying so nothing emitted in between is lost; the replay is
  // synchronous, so no live event can be written before it ends.
  const backlog: BusEvent[] = [];
  let replaying = true;
  const unsubscribe = deps.bus.subscribe((e) => {
    if (res.destroyed || res.writableEnded) throw new Error('closed'); // the bus drops this listener
    if (replaying) backlog.push(e);
    else write(e);
  });
  if (last !== null) {
    // A reconnecting client: a restarted daemon numbers from 1 again, so an id from the
    // future is a gap as well.
    const missed = last > deps.bus.lastId() ? null : deps.bus.since(last);
    if (missed === null)
      res.write(
        `id: ${deps.bus.lastId()}\nevent: reset\ndata: ${JSON.stringify({ last_id: deps.bus.lastId(), reason: 'events were missed; reload the state' })}\n\n`,
      );
    else for (const e of missed) write(e);
  } else res.write(`: connected, last event ${deps.bus.lastId()}\n\n`);
  replaying = false;
  for (const e of backlog) write(e);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  const close = () => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  res.on('close', close);
}
