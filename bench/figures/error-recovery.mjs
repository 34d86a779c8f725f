// Error recovery (issue 4: under 50 ms median): time from a transient failure to the
// start of the successful retry, excluding the configured backoff delay (set to 0 here,
// so everything measured is the coordinator's own work: classify, decide, retry).
// A `git` wrapper first on PATH fails the first push (a sync's first network call
// after a local commit) of every op with a real "connection refused" error. Baseline: the gap between two consecutive git calls of a
// sync that does not fail (the pipeline's normal step-to-step cost).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BIN, makeSandbox, median, round, timed } from '../lib.mjs';

export const name = 'error-recovery';

export async function run({ iterations = 15 } = {}) {
  const sb = makeSandbox();
  try {
    const { clone } = sb.repo('recover');
    await timed(process.execPath, [BIN, 'init'], { cwd: clone, env: sb.env });
    writeFileSync(
      join(clone, '.claude/sync-coordination/config.json'),
      JSON.stringify({ rate_limiting_enabled: false, retries: { default: 3, min_delay_ms: 0, max_delay_ms: 0 } }),
    );
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    const bin = join(sb.dir, 'failing-git');
    const marks = join(sb.dir, 'marks');
    mkdirSync(bin);
    mkdirSync(marks);
    const log = join(sb.dir, 'calls.log');
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
s=$(date +%s%N)
case " $* " in
  *" push "*)
    if [ -n "$SYNC_COORDINATOR_OP" ] && [ ! -e '${marks}'/"$SYNC_COORDINATOR_OP" ] && [ -e '${marks}/ARMED' ]; then
      : > '${marks}'/"$SYNC_COORDINATOR_OP"
      echo "ssh: connect to host example.test port 22: Connection refused" >&2
      echo "fatal: Could not read from remote repository." >&2
      e=$(date +%s%N)
      echo "$s $e FAIL $SYNC_COORDINATOR_OP push" >> '${log}'
      exit 128
    fi ;;
esac
'${realGit}' "$@"
rc=$?
e=$(date +%s%N)
echo "$s $e OK \${SYNC_COORDINATOR_OP:--} $1 $2 $3 $4 $5 $6 $7 $8" >> '${log}'
exit $rc
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const env = { ...sb.env, PATH: `${bin}:${sb.env.PATH}` };
    const recovery = [];
    const steps = [];
    for (let i = 0; i < iterations + 2; i++) {
      for (const armed of [true, false]) {
        if (armed) writeFileSync(join(marks, 'ARMED'), '');
        else execFileSync('rm', ['-f', join(marks, 'ARMED')]);
        writeFileSync(log, '');
        writeFileSync(join(clone, 'f.txt'), `edit ${i} ${armed}\n`);
        const r = await timed(process.execPath, [BIN, 'sync-now'], { cwd: clone, env });
        if (r.code !== 0) throw new Error(`sync-now failed: ${r.stderr}`);
        const calls = readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([s, e, kind, op, ...args]) => ({ s: Number(s) / 1e6, e: Number(e) / 1e6, kind, op, args: args.join(' ') }));
        if (i < 2) continue;
        if (armed) {
          const fail = calls.findIndex((c) => c.kind === 'FAIL');
          const retry = calls.slice(fail + 1).find((c) => c.kind === 'OK' && / push /.test(` ${c.args} `));
          if (fail < 0 || !retry) throw new Error('no failure/retry pair recorded');
          recovery.push(retry.s - calls[fail].e);
        } else {
          const ops = calls.filter((c) => c.op !== '-');
          for (let k = 1; k < ops.length; k++) if (ops[k].s >= ops[k - 1].e) steps.push(ops[k].s - ops[k - 1].e);
        }
      }
    }
    const m = median(recovery);
    return {
      figure: 'transient failure → successful retry (backoff delay 0)',
      median_ms: round(m),
      baseline: 'gap between two git calls of a sync without failure',
      baseline_median_ms: round(median(steps)),
      ratio: round(m / median(steps)),
      target: 'median < 50 ms',
      pass: m < 50,
      iterations,
    };
  } finally {
    sb.cleanup();
  }
}
