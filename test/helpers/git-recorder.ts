/**
 * A `git` wrapper put first on PATH (DESIGN.md: the git that runs is the first on PATH)
 * that runs the real git and records each invocation: start and end time (ns), the op
 * id from SYNC_COORDINATOR_OP, the pid and the arguments. Used to prove that no two
 * operations run git at the same time and that git outside the lock is read-only.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GitCall {
  start: bigint;
  end: bigint;
  op: string | null;
  pid: number;
  args: string;
}

export interface GitRecorder {
  binDir: string;
  logFile: string;
  calls(): GitCall[];
}

export function realGitPath(): string {
  return execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
}

export function makeGitRecorder(dir: string): GitRecorder {
  const binDir = join(dir, 'git-recorder-bin');
  mkdirSync(binDir, { recursive: true });
  const logFile = join(dir, 'git-calls.log');
  const realGit = realGitPath();
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  writeFileSync(
    join(binDir, 'git'),
    `#!/bin/sh
s=$(date +%s%N)
${q(realGit)} "$@"
rc=$?
e=$(date +%s%N)
printf '%s %s %s %s %s\\n' "$s" "$e" "\${SYNC_COORDINATOR_OP:--}" "$$" "$*" >> ${q(logFile)}
exit $rc
`,
  );
  chmodSync(join(binDir, 'git'), 0o755);
  return {
    binDir,
    logFile,
    calls() {
      if (!existsSync(logFile)) return [];
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [start = '0', end = '0', op = '-', pid = '0', ...rest] = line.split(' ');
          return { start: BigInt(start), end: BigInt(end), op: op === '-' ? null : op, pid: Number(pid), args: rest.join(' ') };
        });
    },
  };
}

/** Pairs of calls of different ops whose [start, end] intervals overlap. */
export function overlappingOps(calls: GitCall[]): Array<[GitCall, GitCall]> {
  const withOp = calls.filter((c) => c.op).sort((a, b) => (a.start < b.start ? -1 : 1));
  const bad: Array<[GitCall, GitCall]> = [];
  for (let i = 0; i < withOp.length; i++) {
    for (let j = i + 1; j < withOp.length; j++) {
      const a = withOp[i]!;
      const b = withOp[j]!;
      if (b.start >= a.end) break;
      if (a.op !== b.op) bad.push([a, b]);
    }
  }
  return bad;
}
