/**
 * sync-now's progress: a spinner line per step on a terminal, `step: <name>` lines
 * otherwise. Shared by the in-process path and the control-socket client, so both
 * look the same (and the client loads nothing else for it).
 */
import type { StepName } from '../git/pipeline.js';

const STEPS: StepName[] = ['preflight', 'commit', 'fetch', 'integrate', 'resolve', 'push', 'verify'];

export function createProgress(out: (line: string) => void, mode: 'tty' | 'lines' | 'silent') {
  const tty = mode === 'tty';
  let current: string | null = null;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  let timer: NodeJS.Timeout | null = null;
  const render = () => {
    if (!current) return;
    const n = STEPS.indexOf(current as StepName) + 1;
    process.stdout.write(`\r\x1b[2K${frames[frame++ % frames.length]} [${n}/${STEPS.length}] ${current}`);
  };
  return {
    step(step: StepName | string) {
      if (tty) {
        if (current) process.stdout.write(`\r\x1b[2K✓ ${current}\n`);
        current = step;
        render();
        timer ??= setInterval(render, 80);
        timer.unref();
      } else if (mode === 'lines') {
        out(`step: ${step}`);
      }
    },
    done() {
      if (timer) clearInterval(timer);
      if (tty && current) process.stdout.write(`\r\x1b[2K✓ ${current}\n`);
      current = null;
    },
  };
}
