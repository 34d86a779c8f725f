/**
 * `daemon install-service`: a service that runs the user daemon (`daemon run --user`,
 * serving every registered workspace) at login; `spec.user` false keeps the old
 * per-workspace service (`-C <root> daemon run`).
 * Linux: a systemd user unit; macOS: a launchd agent. Pure builders plus one writer, so
 * the file contents are testable without systemd or launchd.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { hasControl } from '../shared/sanitize.js';
import { UsageError } from '../shared/errors.js';
import { DAEMON_NODE_FLAGS } from './control.js';

export interface ServiceSpec {
  root: string;
  node: string;
  bin: string;
  /** PATH for the service: git is the first one on PATH (DESIGN.md section 3). */
  path: string | undefined;
  /** The user daemon: `root` is then its state directory (its working directory). */
  user?: boolean;
}

export interface ServicePlan {
  kind: 'systemd' | 'launchd';
  name: string;
  file: string;
  content: string;
  /** What the user runs to enable it now. */
  enable: string;
}

/** `<dir name>-<8 hex of the root path>`: readable and unique per work tree. */
export function serviceId(root: string): string {
  const name =
    basename(root)
      .replace(/[^A-Za-z0-9_-]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'workspace';
  const hash = createHash('sha256').update(root).digest('hex').slice(0, 8);
  return `${name}-${hash}`;
}

export function planService(spec: ServiceSpec, platform: NodeJS.Platform, env: NodeJS.ProcessEnv = process.env, home = homedir()): ServicePlan {
  for (const [what, v] of [
    ['work tree path', spec.root],
    ['node path', spec.node],
    ['bin path', spec.bin],
  ] as const) {
    if (hasControl(v)) throw new UsageError(`the ${what} contains control characters; a service file cannot name it safely`);
  }
  const id = spec.user ? null : serviceId(spec.root);
  if (platform === 'darwin') {
    const label = id ? `com.sync-coordinator.${id}` : 'com.sync-coordinator.daemon';
    const file = join(home, 'Library', 'LaunchAgents', `${label}.plist`);
    return { kind: 'launchd', name: label, file, content: launchdPlist(label, spec), enable: `launchctl bootstrap gui/$(id -u) ${shQuote(file)}` };
  }
  const configHome = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  const name = id ? `sync-coordinator-${id}.service` : 'sync-coordinator.service';
  const file = join(configHome, 'systemd', 'user', name);
  return { kind: 'systemd', name, file, content: systemdUnit(spec), enable: `systemctl --user daemon-reload && systemctl --user enable --now ${name}` };
}

export function systemdUnit(spec: ServiceSpec): string {
  const lines = [
    '# Written by `sync-coordinator daemon install-service`; rerun it to update.',
    '[Unit]',
    spec.user
      ? 'Description=sync-coordinator user daemon (every registered work tree)'
      : `Description=sync-coordinator daemon for ${escapeSpecifiers(spec.root)}`,
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${daemonArgv(spec).map(systemdQuote).join(' ')}`,
    `WorkingDirectory=${escapeSpecifiers(spec.root)}`,
  ];
  if (spec.path) lines.push(`Environment=${systemdQuote(`PATH=${spec.path}`)}`);
  lines.push(
    'Restart=on-failure',
    'RestartSec=10',
    '# 4 = another daemon already runs: nothing to restart.',
    'RestartPreventExitStatus=4',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=60',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  );
  return lines.join('\n');
}

/** What the service runs: the daemon exactly as `daemon start` starts it (its node flags included). */
function daemonArgv(spec: ServiceSpec): string[] {
  return [spec.node, ...DAEMON_NODE_FLAGS, spec.bin, '-C', spec.root, 'daemon', 'run', ...(spec.user ? ['--user'] : [])];
}

export function launchdPlist(label: string, spec: ServiceSpec): string {
  const args = daemonArgv(spec);
  const env = spec.path ? `  <key>EnvironmentVariables</key>\n  <dict>\n    <key>PATH</key>\n    <string>${xml(spec.path)}</string>\n  </dict>\n` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${xml(label)}</string>
  <key>ProgramArguments</key>
  <array>
${args.map((a) => `    <string>${xml(a)}</string>`).join('\n')}
  </array>
  <key>WorkingDirectory</key>
  <string>${xml(spec.root)}</string>
${env}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>10</integer>
</dict>
</plist>
`;
}

export async function writeService(plan: ServicePlan): Promise<'created' | 'updated' | 'unchanged'> {
  let old: string | null = null;
  try {
    old = await fs.readFile(plan.file, 'utf8');
  } catch {
    old = null;
  }
  if (old === plan.content) return 'unchanged';
  await fs.mkdir(dirname(plan.file), { recursive: true });
  await fs.writeFile(plan.file, plan.content, { mode: 0o644 });
  return old === null ? 'created' : 'updated';
}

/** systemd's own quoting: one word in double quotes, `\`, `"` escaped, `%` and `$` doubled. */
function systemdQuote(arg: string): string {
  return `"${escapeSpecifiers(arg).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$')}"`;
}

function escapeSpecifiers(s: string): string {
  return s.replace(/%/g, '%%');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function shQuote(s: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
