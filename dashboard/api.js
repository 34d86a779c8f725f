// The page's only way to the daemon: fetch with the token as a Bearer header (never in a
// URL, never a cookie), and the SSE stream read through fetch because EventSource cannot
// send a header.

const TOKEN_KEY = 'sync-coordinator.token';

export class AuthError extends Error {}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * The token: from the `#token=` fragment of the link `sync-coordinator dashboard` prints
 * (then kept in sessionStorage and removed from the address bar, so it is neither in
 * the history nor in a screenshot), else the one this tab already has.
 */
export function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromHash = params.get('token');
  if (fromHash !== null) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

export function createApi(token) {
  const headers = (extra = {}) => ({ authorization: `Bearer ${token}`, ...extra });

  async function call(method, path, body) {
    const res = await fetch(`/api/v1${path}`, {
      method,
      headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    if (res.status === 401) throw new AuthError('the daemon refused the token');
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: reported below */
    }
    if (!res.ok) throw new ApiError(res.status, json?.error ?? `HTTP ${res.status}`);
    return json;
  }

  return {
    get: (path) => call('GET', path),
    post: (path, body = {}) => call('POST', path, body),
    /**
     * Reads `GET /api/v1/events` until `signal` aborts, reconnecting with Last-Event-ID.
     * `onOpen(resumed)` runs on each connection: `resumed` is false on the first one,
     * after which the caller reloads what it shows (events may have been missed).
     */
    async events({ onEvent, onOpen, onClose, onAuth, signal }) {
      let lastId = null;
      let first = true;
      while (!signal.aborted) {
        try {
          const res = await fetch('/api/v1/events', {
            headers: headers({ accept: 'text/event-stream', ...(lastId === null ? {} : { 'last-event-id': lastId }) }),
            cache: 'no-store',
            signal,
          });
          if (res.status === 401) {
            onAuth();
            return;
          }
          if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
          onOpen(!first);
          first = false;
          for await (const ev of sseEvents(res.body)) {
            if (ev.id !== null) lastId = ev.id;
            onEvent(ev);
          }
        } catch {
          if (signal.aborted) return;
        }
        onClose();
        await new Promise((r) => setTimeout(r, 2000));
      }
    },
  };
}

/** Parses a text/event-stream body into {id, event, data} (data JSON-decoded when it is JSON). */
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev = { id: null, event: 'message', data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl = buf.indexOf('\n');
    while (nl !== -1) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      if (line === '') {
        if (ev.data.length) {
          const text = ev.data.join('\n');
          let data = text;
          try {
            data = JSON.parse(text);
          } catch {
            /* a plain-text event */
          }
          yield { id: ev.id, event: ev.event, data };
        }
        ev = { id: ev.id, event: 'message', data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const val = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') ev.data.push(val);
      else if (field === 'event') ev.event = val;
      else if (field === 'id') ev.id = val;
    }
  }
}
