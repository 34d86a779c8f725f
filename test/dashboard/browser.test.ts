/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against
 * a real user daemon (started by the CLI) serving two real workspaces with their bare
 * remotes. The link comes from `sync-coordinator dashboard`; "Sync now" must show the
 * steps as they happen and then the history and chart; a real conflict copy (two devices
 * edit one line) is shown side by side and resolved from the page, which the CLI's
 * `conflicts --json` confirms; a wrong token gets the 401 view; at 375 px nothing
 * scrolls sideways. Screenshots go to test-artifacts/ (gitignored).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http } from '../api/harness.js';
import { openapiChecker } from '../api/openapi-check.js';
import { runCli, waitFor, type CliResult } from '../helpers/cli.js';
import { daemonPids, tryKill } from '../helpers/daemon-procs.js';
import { makeSandbox, PROJECT_ROOT, type Sandbox } from '../helpers/git-fixture.js';

const STATE = '.claude/sync-coordination';
const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts');
const NOTES = ['Shopping', 'milk', 'bread', 'call Bob', ''].join('\n');

function findChromium(): string {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      /* not this name */
    }
  }
  throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does this on CI)');
}

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let a: string;
let b: string;
let other: string;
let url: string;
let browser: Browser;

const cli = (cwd: string, args: string[]): Promise<CliResult> => runCli(args, { cwd, env, timeoutMs: 60_000 });

async function workspace(name: string, device: string): Promise<string> {
  const repo = sb.clone(name);
  const init = await cli(repo, ['init']);
  expect(init.code, init.stderr).toBe(0);
  writeFileSync(
    join(repo, STATE, 'config.json'),
    // notes.txt is never merged line by line: concurrent edits of it leave a conflict copy for the user.
    JSON.stringify({
      pull_interval_s: 0,
      watch: { enabled: false },
      process_interval_s: 2,
      device_name: device,
      user_conflict_policy: 'conflict-copy',
      merge: [{ glob: 'notes.txt', strategy: 'copy' }],
    }),
  );
  return repo;
}

/** Console errors and uncaught exceptions of every page (a CSP violation is one). */
const pageErrors: string[] = [];

/** A page on the dashboard with the token of `link`, loaded and drawn. */
async function open(link: string, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(`${m.text()} ${m.location().url}`));
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(link);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  return page;
}

/** Opens the workspace's details (its card's button, from the keyboard) and waits until its history is shown. */
async function showWorkspace(page: Page, name: string): Promise<void> {
  const card = page.locator('[data-workspace]', { has: page.locator('.card-title', { hasText: new RegExp(`^${name}$`) }) });
  const id = await card.getAttribute('data-workspace');
  if ((await page.locator('#detail-title').textContent()) !== name) {
    await card.getByRole('button').focus();
    await page.keyboard.press('Enter');
  }
  await page.locator('#detail-title', { hasText: new RegExp(`^${name}$`) }).waitFor();
  await page.locator(`#history[data-for="${id}"]`).waitFor();
}

beforeAll(async () => {
  const executablePath = findChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
  sb = makeSandbox('sc-dash-');
  const xdg = join(sb.dir, 'xdg');
  mkdirSync(join(xdg, 'run'), { recursive: true, mode: 0o700 });
  mkdirSync(join(xdg, 'config', 'sync-coordinator'), { recursive: true, mode: 0o700 });
  env = { ...sb.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_STATE_HOME: join(xdg, 'state'), XDG_RUNTIME_DIR: join(xdg, 'run') };
  // Port 0: the daemon takes a free port and reports it; `dashboard` reads it from there.
  writeFileSync(join(xdg, 'config', 'sync-coordinator', 'config.json'), JSON.stringify({ api: { enabled: true, port: 0 } }));
  a = await workspace('notes', 'laptop');
  b = await workspace('website', 'laptop');
  // The other device: a plain clone that edits and pushes with git itself.
  other = sb.clone('desktop');
  writeFileSync(join(a, 'notes.txt'), NOTES);
  const seed = await cli(a, ['sync-now']);
  expect(seed.code, seed.stderr).toBe(0);
  sb.git(other, 'pull', '-q', 'origin', 'main');

  expect((await cli(b, ['add'])).code).toBe(0);
  const start = await cli(a, ['daemon', 'start']);
  expect(start.code, start.stderr).toBe(0);
  const link = await waitFor(
    async () => {
      const r = await cli(a, ['dashboard', '--no-open', '--json']);
      return r.code === 0 ? (JSON.parse(r.stdout) as { url: string; opened: boolean }) : null;
    },
    { what: 'the dashboard command to print a working link', timeoutMs: 30_000, intervalMs: 300 },
  );
  expect(link.opened).toBe(false);
  url = link.url;
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (sb) {
    await runCli(['daemon', 'stop'], { cwd: a, env, timeoutMs: 30_000 }).catch(() => null);
    for (const pid of daemonPids(sb.dir)) tryKill(pid);
    sb.cleanup();
  }
}, 60_000);

describe('dashboard in a real browser', () => {
  it('`dashboard` prints a link with the token only in the fragment; the page takes it, clears the address bar and shows both workspaces', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{32,}$/);
    expect(url).not.toContain('?');
    const token = url.split('#token=')[1]!;
    expect(readFileSync(join(env.XDG_CONFIG_HOME!, 'sync-coordinator', 'api-token'), 'utf8').trim()).toBe(token);

    // With a display, `dashboard` hands the link to xdg-open as one argument (no shell).
    const bin = join(sb.dir, 'fake-bin');
    mkdirSync(bin);
    const got = join(sb.dir, 'xdg-open.args');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${got}'\n`, { mode: 0o755 });
    const opened = await runCli(['dashboard'], { cwd: a, env: { ...env, DISPLAY: ':99', PATH: `${bin}:${env.PATH}` } });
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toBe(`${url}\n`);
    expect(opened.stderr).toMatch(/opened in your browser/);
    await waitFor(() => existsSync(got) && readFileSync(got, 'utf8') === `${url}\n`, { what: 'xdg-open to get the link as its only argument' });

    const page = await open(url);
    const cards = page.locator('[data-workspace]');
    await waitFor(async () => (await cards.count()) === 2, { what: 'two workspace cards' });
    expect((await page.locator('.card-title').allTextContents()).sort()).toEqual(['notes', 'website']);
    // Each card shows the live status, not placeholders.
    for (const fact of ['rate-limit', 'breaker', 'queue', 'watcher', 'paused'])
      for (const text of await page.locator(`[data-fact="${fact}"] dd`).allTextContents()) expect(text, fact).not.toBe('–');
    expect(await page.locator('[data-fact="breaker"] dd').first().textContent()).toBe('closed');
    // The token left the address bar (and the history); the tab keeps it for its calls.
    expect(page.url()).toMatch(/\/$/);
    expect(await page.evaluate("sessionStorage.getItem('sync-coordinator.token')")).toBe(token);
    await page.locator('#connection[data-state="live"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });
    await page.close();
  });

  it('"Sync now" shows the steps live, then the result, the history row and a new chart point; Pause and Resume work', async () => {
    const page = await open(url);
    await showWorkspace(page, 'notes');
    const rowsBefore = await page.locator('#history tbody tr[data-op]').count();
    const pointsBefore = Number(await page.locator('#chart').getAttribute('data-points'));
    // Record every text the live region shows, in order, as the page changes it.
    // (Page code is a string: the tests are type-checked without the DOM library.)
    await page.evaluate(`{
      const seen = (window.progressSeen = []);
      const el = document.getElementById('progress');
      // One record per change, even when the browser batches several into one callback.
      new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes) seen.push(n.textContent); }).observe(el, { childList: true });
    }`);
    writeFileSync(join(a, 'from-dashboard.txt'), 'written before Sync now\n');
    await page.getByRole('button', { name: 'Sync now' }).click();
    await page.locator('#progress', { hasText: /^ok: / }).waitFor({ timeout: 30_000 });
    const seen = (await page.evaluate('window.progressSeen')) as string[];
    const steps = seen.filter((t) => t.startsWith('step: ')).map((t) => t.split(' ')[1]);
    // Each step arrived as its own update, before the result.
    expect(steps.slice(0, 2)).toEqual(['preflight', 'commit']);
    expect(steps).toContain('push');
    expect(seen.findIndex((t) => t.startsWith('ok: '))).toBeGreaterThan(seen.findIndex((t) => t.startsWith('step: push')));
    expect(await page.locator('#steps li').count()).toBe(steps.length);
    expect(await page.locator('#progress').getAttribute('aria-live')).toBe('polite');
    const op = /op (\d{8}-\d{6}-[0-9a-f]{6})\)$/.exec(seen.at(-1)!)?.[1];
    expect(op).toBeTruthy();

    await page.locator(`#history tbody tr[data-op="${op}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('#history tbody tr[data-op]').count()).toBe(rowsBefore + 1);
    const row = page.locator(`#history tbody tr[data-op="${op}"]`);
    expect(await row.locator('td.result').textContent()).toMatch(/^ok/);
    expect(await row.locator('.steps-cell').textContent()).toMatch(/preflight .*push/);
    await waitFor(async () => Number(await page.locator('#chart').getAttribute('data-points')) === pointsBefore + 1, { what: 'a new chart point' });
    expect(await page.locator('#chart canvas').count()).toBe(1);
    expect(sb.git(sb.remote, 'show', 'main:from-dashboard.txt')).toBe('written before Sync now\n');
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-after-sync.png'), fullPage: true });

    // Pause and Resume: the button, the card and `status --json` agree.
    const notesPaused = page.locator('[data-workspace]', { has: page.locator('.card-title', { hasText: /^notes$/ }) }).locator('[data-fact="paused"] dd');
    await page.getByRole('button', { name: 'Pause automatic syncs' }).click();
    await page.getByRole('button', { name: 'Resume automatic syncs' }).waitFor();
    await waitFor(async () => (await notesPaused.textContent())?.startsWith('yes'), { what: 'the card to say paused' });
    expect(JSON.parse((await cli(a, ['status', '--json'])).stdout).paused).not.toBeNull();
    await page.getByRole('button', { name: 'Resume automatic syncs' }).click();
    await page.getByRole('button', { name: 'Pause automatic syncs' }).waitFor();
    expect(await notesPaused.textContent()).toBe('no');
    expect(JSON.parse((await cli(a, ['status', '--json'])).stdout).paused).toBeNull();
    // Nothing the page did was refused by its Content-Security-Policy or threw.
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('a conflict copy is shown side by side against the base, resolved from the keyboard, and gone from `conflicts --json`', async () => {
    // Both devices change the same line: the desktop pushes first, the laptop syncs second.
    sb.git(other, 'pull', '-q', '--no-rebase', 'origin', 'main');
    writeFileSync(join(other, 'notes.txt'), NOTES.replace('milk', 'oat milk'));
    sb.git(other, 'commit', '-qam', 'desktop: oat milk');
    sb.git(other, 'push', '-q', 'origin', 'main');
    writeFileSync(join(a, 'notes.txt'), NOTES.replace('milk', 'milk (2 litres)'));

    const page = await open(url);
    await showWorkspace(page, 'notes');
    await page.getByRole('button', { name: 'Sync now' }).click();
    const article = page.locator('.conflict[data-path="notes.txt"]');
    await article.waitFor({ timeout: 30_000 });
    await article.locator('.side[data-side="remote"]').waitFor();
    const sides = await article.locator('.side pre').allTextContents();
    // Each side's diff against the base: the laptop's line (its copy) and the desktop's.
    expect(sides[0]).toContain('\n+milk (2 litres)\n');
    expect(sides[1]).toContain('\n+oat milk\n');
    for (const side of sides) expect(side).toContain('\n-milk\n');
    expect(await article.locator('.base').textContent()).toMatch(/^Common base: /);
    const before = JSON.parse((await cli(a, ['conflicts', '--json'])).stdout) as { count: number; copies: Array<{ original: string }> };
    expect(before.count).toBe(1);
    expect(before.copies.map((c) => c.original)).toEqual(['notes.txt']);

    // At 375 px (a phone) the page, conflict included, has no horizontal scroll.
    const phone = await open(url, 375);
    await showWorkspace(phone, 'notes');
    await phone.locator('.conflict[data-path="notes.txt"] .side[data-side="remote"]').waitFor();
    expect(await phone.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-375px.png'), fullPage: true });
    await phone.close();

    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-conflict-full.png'), fullPage: true });
    await article.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-conflict.png') });
    await article.screenshot({ path: join(ARTIFACTS, 'dashboard-conflict-detail.png') });

    // The two routes the page reads, as documented, and their bad input (400 naming the field).
    const port = { port: Number(new URL(url).port) };
    const token = url.split('#token=')[1]!;
    const id = await page.locator('#history').getAttribute('data-for');
    const doc = (await http(port, 'GET', '/api/v1/openapi.json', { token })).json;
    const check = openapiChecker(doc);
    const diff = await http(port, 'GET', `/api/v1/workspaces/${id}/conflicts/diff?path=notes.txt`, { token });
    check.check('/api/v1/workspaces/{id}/conflicts/diff', 'GET', diff);
    expect(diff.json).toMatchObject({ path: 'notes.txt', source: 'conflict-copy' });
    const log = await http(port, 'GET', `/api/v1/workspaces/${id}/log?lines=5`, { token });
    check.check('/api/v1/workspaces/{id}/log', 'GET', log);
    expect(log.json.lines.length).toBeGreaterThan(0);
    expect(log.json.lines.length).toBeLessThanOrEqual(5);
    for (const [path, field] of [
      ['/conflicts/diff', 'path'],
      ['/conflicts/diff?path=../../etc/passwd', 'path'],
      ['/conflicts/diff?path=no-such-file.txt', 'path'],
      ['/log?lines=0', 'lines'],
      ['/log?lines=abc', 'lines'],
    ] as const) {
      const r = await http(port, 'GET', `/api/v1/workspaces/${id}${path}`, { token });
      expect(r.status, `${path}: ${r.text}`).toBe(400);
      expect(r.json.field, path).toBe(field);
      check.check(`/api/v1/workspaces/{id}${path.split('?')[0]}`, 'GET', r);
    }
    expect((await http(port, 'GET', `/api/v1/workspaces/${id}/log`, { token: 'wrong' })).status).toBe(401);
    // The page itself needs no token, and carries its security headers.
    const index = await http(port, 'GET', '/');
    expect(index.status).toBe(200);
    expect(index.headers['content-security-policy']).toMatch(/^default-src 'self'/);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    expect(index.text).not.toContain(token);

    // The keyboard: focus the button (a real <button>) and press Enter.
    const resolve = article.getByRole('button', { name: /^Resolve notes\.txt$/ });
    await resolve.focus();
    expect(await page.evaluate('document.activeElement.tagName')).toBe('BUTTON');
    await page.keyboard.press('Enter');
    await page.locator('#no-conflicts').waitFor({ timeout: 15_000 });
    const after = JSON.parse((await cli(a, ['conflicts', '--json'])).stdout) as { count: number; copies: unknown[]; open: unknown[] };
    expect(after).toMatchObject({ count: 0, copies: [], open: [] });
    await page.close();
  });

  it('a wrong or missing token gets the 401 view that says how to get the link', async () => {
    for (const link of [url.replace(/#token=.*/, '#token=wrong-token-0123456789abcdef0123456789'), url.replace(/#.*/, '')]) {
      const page = await browser.newPage();
      await page.goto(link);
      await page.locator('#auth').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await page.locator('#auth-title').textContent()).toBe('Wrong or missing token');
      expect(await page.locator('#auth').textContent()).toContain('sync-coordinator dashboard');
      expect(await page.locator('#overview').isVisible()).toBe(false);
      expect(await page.locator('[data-workspace]').count()).toBe(0);
      expect(await page.locator('#connection').getAttribute('data-state')).toBe('refused');
      // Focus moves to the message, so a screen reader reads it first.
      expect(await page.evaluate('document.activeElement.id')).toBe('auth-title');
      if (link.includes('#token=')) await page.screenshot({ path: join(ARTIFACTS, 'dashboard-401.png') });
      await page.close();
    }
  });
});
