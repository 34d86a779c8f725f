/**
 * The bridge from the object-store merge (tree-merge.ts) to the resolver of DESIGN.md
 * section 13 (src/merge/). Loaded only when a file is in conflict: node-diff3 and
 * diff-match-patch stay out of a usual sync.
 *
 * A path with a `merge=` attribute of the user's own (.gitattributes) is not touched by
 * the resolver: the user chose how that file merges, so it goes to the conflict policy
 * (a copy) where their driver or tool can be run by hand.
 */
import type { Config } from '../shared/config.js';
import type { Git } from './git.js';
import type { ContentMerge } from './tree-merge.js';

export function createResolver(config: Config, git: Git): ContentMerge {
  let loaded: Promise<typeof import('../merge/index.js')> | null = null;
  return async (input) => {
    if (await hasOwnMergeDriver(git, input.path)) return { merged: null, partial: null, strategy: 'copy', hunks: 0, skipped: 'merge attribute' };
    loaded ??= import('../merge/index.js');
    const { mergeFile, strategyFor } = await loaded;
    const strategy = strategyFor(input.path, config.merge);
    const r = mergeFile({ ...input, strategy });
    if (r.status === 'merged') return { merged: r.content, partial: null, strategy, hunks: r.hunks, ...(r.notes?.length ? { notes: r.notes } : {}) };
    return { merged: null, partial: r.partial, strategy, hunks: r.hunks };
  };
}

/** `git check-attr merge`: anything but unspecified/unset/set means the user's own choice. */
async function hasOwnMergeDriver(git: Git, path: string): Promise<boolean> {
  const res = await git.run(['check-attr', '-z', 'merge', '--', path], { readOnly: true, literalPaths: true, okCodes: [1] });
  const value = res.stdout.split('\0')[2] ?? 'unspecified';
  return !['unspecified', 'unset', 'set', ''].includes(value);
}
