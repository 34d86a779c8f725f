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
      h('td', {}, e.caller ?? e.trigger ?? '–'),
      h('td', { class: `result ${e.result}` }, e.result ?? '–', e.message ? h('span', { class: 'msg' }, e.message) : null),
      h('td', { class: 'num' }, seconds(e.duration_ms)),
      h('td', { class: 'num' }, e.files_changed ?? '–'),
      h('td', { class: 'steps-cell' }, e.steps.map((s) => `${s.step} ${seconds(s.ms)}`).join(', ') || '–'),
    ),
  );
}

/**
 * The conflicts: a file left for the user, or a file with its conflict copy. When the API
 * gives the texts (base, ours/local, theirs/remote), they are shown side by side;
 * otherwise the two paths to compare.
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
      c.sides.length
        ? h('div', { class: 'sides' }, ...c.sides.map((s) => h('figure', { class: 'side' }, h('figcaption', {}, s.label), h('pre', {}, s.text))))
        : h('p', { class: 'muted' }, 'The daemon sent no file contents for this conflict; compare the two files named above.'),
      h('button', { type: 'button', class: 'resolve', onclick: (ev) => onResolve(c.resolvePath, ev.currentTarget) }, `Resolve ${basename(c.path)}`),
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
    const rec = open.find((r) => r.copy_path === c.path) ?? {};
    items.push({
      path: c.original,
      resolvePath: c.original,
      summary: `Both devices changed it. This file has one version; device ${c.device} kept the other as ${c.path} (${ago(c.made_at)}).`,
      sides: sidesOf({ ...rec, ...c }, 'This file', `Copy (${c.device})`),
    });
  }
  for (const r of open) {
    if (r.copy_path || seen.has(r.path)) continue;
    seen.add(r.path);
    items.push({
      path: r.path,
      resolvePath: r.path,
      summary: `${r.kind ?? 'content'} conflict left for you (${r.policy ?? 'manual'}, ${ago(r.time)}): merge it by hand, then resolve.`,
      sides: sidesOf(r, 'This device', 'Other device'),
    });
  }
  return items;
}

function sidesOf(c, oursLabel, theirsLabel) {
  const t = c.texts ?? c.sides ?? c;
  const pick = (...keys) => keys.map((k) => t?.[k]).find((v) => typeof v === 'string');
  const sides = [];
  const base = pick('base', 'base_text');
  const ours = pick('ours', 'local', 'ours_text', 'local_text');
  const theirs = pick('theirs', 'remote', 'theirs_text', 'remote_text', 'copy', 'copy_text');
  if (base !== undefined) sides.push({ label: 'Common base', text: base });
  if (ours !== undefined) sides.push({ label: oursLabel, text: ours });
  if (theirs !== undefined) sides.push({ label: theirsLabel, text: theirs });
  return sides.length >= 2 ? sides : [];
}
