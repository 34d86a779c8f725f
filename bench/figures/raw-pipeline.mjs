// The baseline every sync figure is compared with: what the seed scripts ran.
import { timed } from '../lib.mjs';

export async function rawPipeline(cwd, env) {
  const start = performance.now();
  for (const args of [
    ['add', '-A'],
    ['commit', '-q', '-m', 'raw sync'],
    ['pull', '-q', '--rebase'],
    ['push', '-q'],
  ]) {
    const r = await timed('git', args, { cwd, env });
    if (r.code !== 0) throw new Error(`raw git ${args[0]} failed: ${r.stderr}`);
  }
  return { ms: performance.now() - start };
}
