// Pure renderers: data from the API in, DOM nodes out. Every string from the daemon goes
// in as text (textContent), never as HTML: paths, messages and reasons are untrusted.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return String(iso);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

export function seconds(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
}

export const basename = (p) =>
  String(p ?? '')
    .replace(/\/+$/, '')
    .split('/')
    .pop() || String(p ?? '');

/** One overview card. `status` may be null (not loaded, or the workspace is not served). */
export function workspaceCard(view, status, selected, onOpen) {
  const st = status;
  const paused = st?.paused ?? view.paused ?? null;
  const rows = [
    ['State', st?.active ? `syncing: ${st.active.step ?? st.active.type}` : view.status, st?.active ? 'busy' : view.status === 'running' ? 'ok' : 'bad'],
    ['Last sync', st ? ago(st.stats?.last_success_at) : '–', st?.stats?.last_error ? 'bad' : ''],
    ['Queue', st ? String(st.queue?.pending ?? 0) : '–', ''],
    ['Rate limit', st?.rate_limit ? (st.rate_limit.enabled ? `${st.rate_limit.used}/${st.rate_limit.limit} per hour` : 'off') : '–', ''],
    ['Breaker', st?.breaker?.state ?? '–', st?.breaker && st.breaker.state !== 'closed' ? 'bad' : ''],
    ['Watcher', st ? watcherText(st.watcher) : '–', st?.watcher?.error ? 'bad' : ''],
    ['Paused', paused ? `yes: ${typeof paused === 'object' ? (paused.reason ?? 'paused') : 'paused'}` : 'no', paused ? 'warn' : ''],
  ];
  return h(
    'li',
    { class: `card${selected ? ' selected' : ''}`, 'data-workspace': view.id },
    h('h3', { class: 'card-title' }, basename(view.path)),
    h('p', { class: 'path' }, view.path),
    view.error ? h('p', { class: 'error' }, view.error) : null,
    h(
      'dl',
      { class: 'facts' },
      ...rows.map(([k, v, tone]) => h('div', { class: `fact ${tone}`, 'data-fact': k.toLowerCase().replace(' ', '-') }, h('dt', {}, k), h('dd', {}, v))),
    ),
    h(
      'button',
      { type: 'button', class: 'open', 'aria-pressed': selected ? 'true' : 'false', onclick: () => onOpen(view.id) },
      selected ? 'Shown below' : 'Details',
    ),
  );
}

function watcherText(w) {
  if (!w) return 'off';
  if (w.error) return `error: ${w.error}`;
  return `${w.watching ? 'watching' : w.mode}${w.pending ? `, ${w.pending} pending` : ''}`;
}

/** Rows of the history table, newest first. */
export function historyRows(entries) {
  if (!entries.length) return [h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'no sync yet'))];
  return entries.map((e) =>
    h(
      'tr',
      { 'data-op': e.op ?? '' },
      h('td', {}, h('time', { datetime: e.finished_at ?? '' }, ago(e.finished_at))),
      h('td', {}, e.type ?? '–'),
      h('td', { 'data-label': 'by' }, e.trigger || '–'),
      h('td', { class: `result ${e.result}` }, e.result ?? '–', e.message ? h('span', { class: 'msg' }, e.message) : null),
      h('td', { class: 'num', 'data-label': 'took' }, seconds(e.duration_ms)),
      h('td', { class: 'num', 'data-label': 'files' }, e.files_changed ?? '–'),
      h('td', { class: 'steps-cell' }, e.steps.map((s) => `${s.step} ${seconds(s.ms)}`).join(', ') || '–'),
    ),
  );
}

/**
 * The conflicts: a file with its conflict copy (both devices changed it), or a file left
 * for the user. Each gets an empty `.sides` box that `diffPanes` fills once the daemon
 * says what each side changed against the common base.
 */
export function conflictList(data, onResolve) {
  const items = conflictItems(data);
  if (!items.length) return [h('p', { class: 'muted', id: 'no-conflicts' }, 'No open conflict.')];
  return items.map((c) =>
    h(
      'article',
      { class: 'conflict', 'data-path': c.path },
      h('h4', {}, c.path),
      h('p', { class: 'muted' }, c.summary),
      h('div', { class: 'sides', 'data-for': c.path }, h('p', { class: 'muted' }, 'loading what each side changed…')),
      h('button', { type: 'button', class: 'resolve', onclick: (ev) => onResolve(c.path, ev.currentTarget) }, `Resolve ${basename(c.path)}`),
    ),
  );
}

function conflictItems(data) {
  const open = Array.isArray(data?.open) ? data.open : [];
  const copies = Array.isArray(data?.copies) ? data.copies : [];
  const items = [];
  const seen = new Set();
  for (const c of copies) {
    if (seen.has(c.original)) continue;
    seen.add(c.original);
    items.push({
      path: c.original,
      summary: `Both devices changed it. ${c.original} has one version; the version of device ${c.device} is kept beside it as ${c.path} (${ago(c.made_at)}). Merge what you want into ${basename(c.original)}, then resolve: the copy is deleted on every device.`,
    });
  }
  for (const r of open) {
    if (r.copy_path || seen.has(r.path)) continue;
    seen.add(r.path);
    items.push({
      path: r.path,
      summary: `${r.kind ?? 'content'} conflict left for you (${r.policy ?? 'manual'}, ${ago(r.time)}): merge it by hand, then resolve.`,
    });
  }
  return items;
}

/**
 * The two sides of a conflict as the daemon's diff route gives them (the same JSON as
 * `conflicts show <path> --json`): the base, then each side's diff against it.
 */
export function diffPanes(d) {
  const base = d?.base?.description ?? (d?.base_blob ? `blob ${String(d.base_blob).slice(0, 12)}` : 'none (both sides added the file)');
  const local = d?.local ?? {};
  const remote = d?.remote ?? {};
  const copyLabel = d?.copy
    ? `What ${local.device ?? 'one device'} changed (its version is the copy ${d.copy})`
    : `What ${local.device ?? 'this device'} changed`;
  const fileLabel = d?.copy
    ? `What ${remote.device ?? 'the other device'} changed (its version is in ${d.path})`
    : `What ${remote.device ?? 'the other device'} changed`;
  return [h('p', { class: 'base' }, h('strong', {}, 'Common base: '), base), pane(copyLabel, local.diff, 'local'), pane(fileLabel, remote.diff, 'remote')];
}

function pane(label, diff, side) {
  const lines = typeof diff === 'string' && diff ? diff.replace(/\n$/, '').split('\n') : [];
  return h(
    'figure',
    { class: 'side', 'data-side': side },
    h('figcaption', {}, label),
    h(
      'pre',
      {},
      lines.length
        ? lines.map((l) => h('span', { class: l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : 'ctx' }, l, '\n'))
        : 'no change against the base',
    ),
  );
}
