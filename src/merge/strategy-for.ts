import picomatch from 'picomatch';
import type { MergeRule, MergeStrategy } from '../shared/config.js';

const cache = new Map<string, (p: string) => boolean>();

function matcher(glob: string): (p: string) => boolean {
  let m = cache.get(glob);
  if (!m) {
    // dot: a user's glob `*` must cover `.env` or `.obsidian/x` too, as it does in .gitignore.
    m = picomatch(glob, { dot: true });
    cache.set(glob, m);
  }
  return m;
}

/**
 * The strategy of the first rule whose glob matches. A glob without '/' is matched
 * against the basename (like a .gitignore pattern: `*.json` means every JSON file at
 * any depth); a glob with '/' is matched against the full repository-relative path.
 * No rule matches: `copy`, today's behaviour.
 */
export function strategyFor(path: string, rules: readonly MergeRule[]): MergeStrategy {
  const full = path.replace(/\\/g, '/').replace(/^\/+/, '');
  const base = full.slice(full.lastIndexOf('/') + 1);
  for (const rule of rules) {
    if (matcher(rule.glob)(rule.glob.includes('/') ? full : base)) return rule.strategy;
  }
  return 'copy';
}
