// The dashboard: loads the workspaces and their status, follows the event stream, and
// re-reads what an event changed. State lives here; views.js only draws.
import { AuthError, createApi, takeToken } from './api.js';
import { conflictList, diffPanes, h, historyRows, seconds, workspaceCard } from './views.js';

const $ = (id) => document.getElementById(id);
const HISTORY_LIMIT = 50;
const REFRESH_MS = 10_000;

const api = createApi(takeToken());
const state = {
  views: [],
  status: new Map(),
  selected: sessionStorage.getItem('sync-coordinator.selected'),
  history: [],
  conflicts: null,
  /** op → steps seen live, for the selected workspace. */
  live: { op: null, steps: [] },
  chart: null,
  authFailed: false,
};
const stopStream = new AbortController();

function showAuth(detail) {
  if (state.authFailed) return;
  state.authFailed = true;
  stopStream.abort();
  $('auth').hidden = false;
  $('overview').hidden = true;
  $('detail').hidden = true;
  $('auth-detail').textContent = detail ?? '';
  setConnection('refused', 'not connected: wrong or missing token');
  $('auth-title').focus();
}

function setConnection(kind, text) {
  const el = $('connection');
  el.dataset.state = kind;
  el.textContent = text;
}

/** Runs `fn`; a 401 anywhere turns the page into the token view, other errors are shown where they happened. */
async function guarded(fn, where) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AuthError) showAuth(e.message);
    else if (where) {
      where.textContent = `error: ${e.message}`;
      where.hidden = false;
    }
    return undefined;
  }
}

async function loadWorkspaces() {
  const data = await api.get('/workspaces');
  // By name, so the cards keep their places whatever order the registry has.
  state.views = (Array.isArray(data?.workspaces) ? data.workspaces : []).sort(
    (x, y) => nameOf(x.path).localeCompare(nameOf(y.path)) || x.path.localeCompare(y.path),
  );
  if (!state.views.some((v) => v.id === state.selected)) state.selected = state.views[0]?.id ?? null;
  await Promise.all(state.views.map((v) => loadStatus(v.id)));
  renderOverview();
  renderDetailHead();
}

async function loadStatus(id) {
  try {
    state.status.set(id, await api.get(`/workspaces/${encodeURIComponent(id)}/status`));
  } catch (e) {
    if (e instanceof AuthError) throw e;
    state.status.set(id, null);
  }
}

function renderOverview() {
  $('overview-empty').hidden = state.views.length > 0;
  $('workspaces').replaceChildren(...state.views.map((v) => workspaceCard(v, state.status.get(v.id) ?? null, v.id === state.selected, select)));
}

function select(id) {
  if (id === state.selected) return;
  state.selected = id;
  sessionStorage.setItem('sync-coordinator.selected', id);
  state.live = { op: null, steps: [] };
  renderSteps();
  showRunning();
  renderOverview();
  renderDetailHead();
  void loadDetail();
  $('detail-title').scrollIntoView({ block: 'start' });
}

const nameOf = (path) => path.split('/').pop() || path;

const selectedPath = () => `/workspaces/${encodeURIComponent(state.selected)}`;

function renderDetailHead() {
  const view = state.views.find((v) => v.id === state.selected);
  $('detail').hidden = !view;
  if (!view) return;
  const st = state.status.get(view.id);
  $('detail-title').textContent = nameOf(view.path);
  $('detail-path').textContent = view.path;
  const paused = !!(st?.paused ?? view.paused);
  const pr = $('pause-resume');
  pr.textContent = paused ? 'Resume' : 'Pause';
  pr.setAttribute('aria-label', paused ? 'Resume automatic syncs' : 'Pause automatic syncs');
  $('sync-now').disabled = view.status !== 'running';
}

/** A sync already running when a workspace is shown: say so until its next step arrives. */
function showRunning() {
  const active = state.status.get(state.selected)?.active;
  $('progress').textContent = active && !active.interrupted ? `running: ${active.step ?? '…'} (op ${active.op})` : 'idle';
}

async function loadDetail() {
  if (!state.selected) return;
  const id = state.selected;
  await Promise.all([loadHistory(id), loadConflicts(id), loadLog(id)]);
}

async function loadHistory(id) {
  const data = await guarded(() => api.get(`/workspaces/${encodeURIComponent(id)}/history?limit=${HISTORY_LIMIT}`));
  if (id !== state.selected || data === undefined) return;
  state.history = normalizeHistory(data);
  $('history').tBodies[0].replaceChildren(...historyRows(state.history));
  drawChart();
  // Whose history the table shows now (a test or a screen reader user can tell it changed).
  $('history').dataset.for = id;
}

async function loadConflicts(id) {
  const data = await guarded(() => api.get(`/workspaces/${encodeURIComponent(id)}/conflicts`), $('conflicts'));
  if (id !== state.selected || data === undefined) return;
  state.conflicts = data;
  $('conflicts').replaceChildren(...conflictList(data, resolve));
  await Promise.all([...$('conflicts').querySelectorAll('.sides')].map((box) => loadDiff(id, box)));
}

async function loadDiff(id, box) {
  const path = box.dataset.for;
  try {
    const d = await api.get(`/workspaces/${encodeURIComponent(id)}/conflicts/diff?path=${encodeURIComponent(path)}`);
    box.replaceChildren(...diffPanes(d));
  } catch (e) {
    if (e instanceof AuthError) return showAuth(e.message);
    box.replaceChildren(
      h('p', { class: 'muted' }, `what each side changed is not available (${e.message}); in a terminal: sync-coordinator conflicts show -- ${path}`),
    );
  }
}

async function loadLog(id) {
  try {
    const data = await api.get(`/workspaces/${encodeURIComponent(id)}/log?lines=40`);
    if (id !== state.selected) return;
    const lines = Array.isArray(data?.lines) ? data.lines : [];
    $('log').textContent = lines.map(logLine).join('\n') || '(no log lines yet)';
    $('log').scrollTop = $('log').scrollHeight;
  } catch (e) {
    if (e instanceof AuthError) return showAuth(e.message);
    $('log').textContent = `not available (${e.message}); in a terminal: sync-coordinator daemon logs`;
  }
}

const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

/** A pino JSON line as `12:00:01 info  message key=value`; other lines as they are. */
function logLine(l) {
  const text = typeof l === 'string' ? l : (l?.text ?? '');
  let o;
  try {
    o = JSON.parse(text);
  } catch {
    return text;
  }
  if (!o || typeof o !== 'object') return text;
  const t = o.time ? new Date(o.time).toLocaleTimeString() : '';
  const extra = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${(LEVELS[o.level] ?? String(o.level ?? '')).padEnd(5)} ${o.msg ?? ''}${extra ? `  ${extra}` : ''}`;
}

/** The history entries, whatever the key, with `steps` as [{step, ms}] and a duration. */
function normalizeHistory(data) {
  const list = Array.isArray(data) ? data : (data?.history ?? data?.syncs ?? data?.entries ?? data?.items ?? []);
  return list.map((e) => {
    const raw = e.steps ?? e.step_durations ?? e.durations ?? [];
    const steps = Array.isArray(raw)
      ? raw.map((s) => ({ step: s.step ?? s.name, ms: s.ms ?? s.duration_ms }))
      : Object.entries(raw).map(([step, ms]) => ({ step, ms: typeof ms === 'number' ? ms : ms?.ms }));
    const started = Date.parse(e.started_at ?? '');
    const finished = Date.parse(e.finished_at ?? '');
    const duration_ms = typeof e.duration_ms === 'number' ? e.duration_ms : Number.isFinite(started + finished) ? finished - started : null;
    const files = e.files_changed_count ?? e.files_changed ?? e.files;
    const trigger = Array.isArray(e.callers) ? e.callers.join(', ') : (e.caller ?? e.trigger ?? '');
    return { ...e, steps, duration_ms, trigger, files_changed: Array.isArray(files) ? files.length : files };
  });
}

function drawChart() {
  const box = $('chart');
  const points = state.history.filter((e) => typeof e.duration_ms === 'number' && Date.parse(e.finished_at ?? '')).reverse();
  const data = [points.map((e) => Date.parse(e.finished_at) / 1000), points.map((e) => e.duration_ms / 1000)];
  box.dataset.points = String(points.length);
  $('chart-empty').hidden = points.length > 0;
  box.hidden = points.length === 0;
  if (!points.length) return;
  box.setAttribute(
    'aria-label',
    `Duration of the last ${points.length} syncs, in seconds${points.length ? `; the newest took ${seconds(points.at(-1).duration_ms)}` : ''}`,
  );
  if (typeof window.uPlot !== 'function') {
    box.textContent = 'chart library not loaded';
    return;
  }
  const width = Math.max(240, box.clientWidth || 300);
  if (state.chart) {
    state.chart.setData(data);
    state.chart.setSize({ width, height: 180 });
    return;
  }
  const css = getComputedStyle(document.documentElement);
  const ink = css.getPropertyValue('--ink').trim() || '#222';
  const accent = css.getPropertyValue('--accent').trim() || '#0b5cad';
  const axis = { stroke: ink, grid: { stroke: 'rgba(127,127,127,0.25)' }, ticks: { stroke: 'rgba(127,127,127,0.4)' } };
  state.chart = new window.uPlot(
    {
      width,
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // Syncs seconds apart would get sub-second ticks: show at least ten minutes.
        // (From the data itself: uPlot hands a one-point series a zero-width range.)
        x: {
          time: true,
          range: (u) => {
            const xs = u.data[0];
            const lo = xs[0] ?? 0;
            const hi = xs[xs.length - 1] ?? lo;
            return hi - lo < 600 ? [lo - 300, hi + 300] : [lo, hi];
          },
        },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] },
      },
      axes: [
        { ...axis, space: 90, values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })) },
        { ...axis, label: 'seconds', size: 60 },
      ],
      series: [{}, { label: 'duration (s)', stroke: accent, width: 2, points: { show: true, size: 7, fill: accent } }],
    },
    data,
    box,
  );
}

async function syncNow() {
  const btn = $('sync-now');
  btn.disabled = true;
  $('action-result').textContent = 'asking for a sync…';
  const res = await guarded(() => api.post(`${selectedPath()}/sync`, { type: 'manual', caller: 'dashboard', reason: 'Sync now' }), $('action-result'));
  btn.disabled = false;
  if (!res) return;
  $('action-result').textContent = res.status === 'rejected' ? `rejected: ${res.message ?? 'rate limited'}` : `request ${res.id} ${res.status ?? 'queued'}`;
  await refreshWorkspace(state.selected);
}

async function pauseResume() {
  const st = state.status.get(state.selected);
  const view = state.views.find((v) => v.id === state.selected);
  const paused = !!(st?.paused ?? view?.paused);
  const res = await guarded(() => api.post(`${selectedPath()}/${paused ? 'resume' : 'pause'}`, {}), $('action-result'));
  if (res === undefined) return;
  $('action-result').textContent = paused ? 'automatic syncs resumed' : 'automatic syncs paused';
  await refreshWorkspace(state.selected);
}

async function resolve(path, button) {
  button.disabled = true;
  const res = await guarded(() => api.post(`${selectedPath()}/conflicts/resolve`, { path }), $('action-result'));
  button.disabled = false;
  if (res === undefined) return;
  $('action-result').textContent = `resolved: ${path}`;
  await Promise.all([loadConflicts(state.selected), refreshWorkspace(state.selected)]);
}

async function refreshWorkspace(id) {
  await guarded(async () => {
    await loadStatus(id);
    renderOverview();
    renderDetailHead();
  });
}

function renderSteps() {
  $('steps').replaceChildren(
    ...state.live.steps.map((s, i) => h('li', { class: i === state.live.steps.length - 1 && !state.live.done ? 'current' : 'done' }, s)),
  );
}

/** Coalesces the re-reads a burst of events asks for. */
const pending = new Map();
function later(key, fn) {
  if (pending.has(key)) return;
  pending.set(
    key,
    setTimeout(() => {
      pending.delete(key);
      void guarded(fn);
    }, 150),
  );
}

function onEvent(ev) {
  const e = ev.data && typeof ev.data === 'object' ? ev.data : {};
  const type = e.type ?? ev.event;
  const ws = e.workspace ?? null;
  const data = e.data ?? {};
  // `reset`: the stream lost events (a gap older than the daemon's buffer): reload all.
  if (type === 'reset') return later('all', () => Promise.all([loadWorkspaces(), loadDetail()]));
  if (type === 'workspace.changed' || ws === null) return later('workspaces', loadWorkspaces);
  if (ws === state.selected && type === 'step.started') {
    if (state.live.op !== data.op) state.live = { op: data.op, steps: [], done: false };
    state.live.steps.push(data.step);
    renderSteps();
    $('progress').textContent = `step: ${data.step} (op ${data.op})`;
  }
  if (ws === state.selected && type === 'sync.finished') {
    if (state.live.op === data.op) state.live.done = true;
    renderSteps();
    $('progress').textContent = `${data.result}: ${data.message ?? ''} (${data.type}, ${seconds(data.duration_ms)}, op ${data.op})`;
    later('history', () => loadHistory(ws));
    later('conflicts', () => loadConflicts(ws));
    later('log', () => loadLog(ws));
  }
  if (ws === state.selected && type === 'conflict') later('conflicts', () => loadConflicts(ws));
  later(`status:${ws}`, () => refreshWorkspace(ws));
}

async function start() {
  $('sync-now').addEventListener('click', () => void syncNow());
  $('pause-resume').addEventListener('click', () => void pauseResume());
  window.addEventListener('resize', () => state.chart && drawChart());
  await guarded(loadWorkspaces, $('overview-empty'));
  if (state.authFailed) return;
  showRunning();
  await loadDetail();
  void api.events({
    signal: stopStream.signal,
    onEvent,
    onAuth: () => showAuth('the event stream refused the token'),
    onOpen: (resumed) => {
      setConnection('live', 'live');
      if (resumed) void guarded(async () => Promise.all([loadWorkspaces(), loadDetail()]));
    },
    onClose: () => setConnection('down', 'connection lost; reconnecting…'),
  });
  setInterval(() => {
    if (!state.authFailed && document.visibilityState === 'visible') void guarded(loadWorkspaces);
  }, REFRESH_MS);
  document.body.dataset.ready = 'true';
}

void start();
