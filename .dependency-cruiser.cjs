/**
 * The dependency rule (`npm run deps`, part of `npm run check`): no import cycles, and
 * imports go down the layers only. The layering, highest first (README, "Architecture"):
 *
 *   src/bin                                  the bundled entry points
 *   src/cli                                  commands: parse, call one service, print
 *   src/client | src/daemon | src/api | src/doctor   services (siblings do not import each other)
 *   watcher/ | hooks/                        triggers, each behind one entry module
 *   src/core                                 the coordinator: queue, admission, lock, batch, settle
 *   src/git                                  runs git and reports what happened
 *   src/merge                                pure content merges
 *   shared primitives                        errors, atomic files, config, state store, retries, logging, user paths
 *
 * The primitives still live in src/core (and src/shared/log.ts, src/user/); they are named below
 * by file until they move to a folder of their own (e.g. src/shared/). Known violations
 * sit in `knownViolations` at the bottom, each with the move that removes it: they do not
 * fail the check, any new one does.
 */

// Shared by every layer and importing only each other: errors, atomic files, config, the
// state file's store and types, retries with back-off, the /proc scans.
const PRIMITIVE_CORE = [
  'errors',
  'atomic-file',
  'exists-no-follow',
  'package-root',
  'process-identity',
  'redact',
  'sanitize',
  'config',
  'config-schema',
  'state',
  'failure-record',
  'retry',
  'proc-scan',
];
const PRIMITIVES = `^(src/log\\.ts$|src/user/|src/types/|src/core/(${PRIMITIVE_CORE.join('|')})\\.ts$)`;

/** Highest first. A layer may import itself and the layers after it. */
const LAYERS = [
  { name: 'bin', path: '^src/bin/' },
  { name: 'cli', path: '^src/cli/' },
  { name: 'services', path: '^src/(client|daemon|api|doctor)/', siblings: ['client', 'daemon', 'api', 'doctor'].map((s) => `^src/${s}/`) },
  { name: 'triggers', path: '^(watcher|hooks)/', siblings: ['^watcher/', '^hooks/'] },
  { name: 'core', path: '^src/core/', pathNot: PRIMITIVES },
  { name: 'git', path: '^src/git/' },
  { name: 'merge', path: '^src/merge/' },
  { name: 'primitives', path: PRIMITIVES },
];

/** Code outside watcher/ and hooks/ enters each through one module. */
const ENTRIES = [
  { dir: '^watcher/', entry: '^watcher/watcher\\.ts$' },
  { dir: '^hooks/', entry: '^hooks/installer\\.ts$' },
];

const TESTS = '(\\.test\\.ts$|^test/|^bench/|^scripts/|^watcher/test-repo\\.ts$)';

const layerRules = LAYERS.slice(1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} imports only the layers below it`,
  severity: 'error',
  from: { path: layer.path, pathNot: [layer.pathNot ?? '^$', TESTS] },
  // Primitives are never above anything, also those still inside src/core.
  to: { path: LAYERS.slice(0, i + 1).map((l) => l.path), pathNot: PRIMITIVES },
}));

const siblingRules = LAYERS.filter((l) => l.siblings).flatMap((layer) =>
  layer.siblings.map((own) => ({
    name: `siblings-${layer.name}`,
    comment: `a ${layer.name} module does not import another of the same layer`,
    severity: 'error',
    from: { path: own, pathNot: TESTS },
    to: { path: layer.siblings.filter((s) => s !== own) },
  })),
);

const entryRules = ENTRIES.map(({ dir, entry }) => ({
  name: 'boundary-entry',
  comment: `${dir} is entered through ${entry} only`,
  severity: 'error',
  from: { pathNot: [dir, TESTS] },
  to: { path: dir, pathNot: entry },
}));

/** A known violation: `from` imports `to` against `rule`; each comment names the move that removes it. */
const known = (rule, from, to) => ({ type: 'dependency', from, to, rule: { name: rule, severity: 'error' } });
/** A known cycle, by the modules on it. */
const cycle = (modules) => ({
  type: 'cycle',
  from: modules[0],
  to: modules[1],
  cycle: modules.map((name) => ({ name, dependencyTypes: [] })),
  rule: { name: 'no-circular', severity: 'error' },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'a cycle ties modules into one: every import goes one way',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-tests',
      comment: 'product code never imports test code',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { path: TESTS },
    },
    {
      name: 'no-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    ...layerRules,
    ...siblingRules,
    ...entryRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^node_modules/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    // DEPS_BASELINE=off npm run deps lists every violation, known ones included.
    knownViolations: (process.env.DEPS_BASELINE === 'off' ? () => [] : (v) => v)([
      // --- src/git imports src/core (layer-git) ---
      // conflicts.log records what a merge left: core/conflict-log.ts moves to src/git/conflict-log.ts.
      known('layer-git', 'src/git/pipeline.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/landing.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/left-for-user.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/recovery.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/replay.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/sync-context.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/tree-conflicts.ts', 'src/git/conflict-log.ts'),
      known('layer-git', 'src/git/tree-merge.ts', 'src/git/conflict-log.ts'),
      // Git's own lock files are git's business: core/git-lock-files.ts moves to src/git (core/lock.ts
      // and doctor then import it from there, downwards).
      known('layer-git', 'src/git/recovery.ts', 'src/git/git-lock-files.ts'),
      known('layer-git', 'src/git/step-retry.ts', 'src/git/git-lock-files.ts'),
      // How git reaches the remote (timeouts, no prompts): core/network.ts moves to src/git.
      known('layer-git', 'src/git/remote-steps.ts', 'src/git/network.ts'),
      // The access the pipeline obeys is the pipeline's type: RemoteAccess moves from
      // core/breaker-policy.ts to src/git/sync-context.ts (breaker-policy imports it from there).
      known('layer-git', 'src/git/sync-context.ts', 'src/core/breaker-policy.ts'),
      // The Workspace value (paths, STATE_DIR_REL) splits from resolveWorkspace (which runs git):
      // the value moves to the primitives, the resolver stays in src/core.
      known('layer-git', 'src/git/sync-context.ts', 'src/git/workspace.ts'),
      known('layer-git', 'src/git/recovery.ts', 'src/git/workspace.ts'),
      known('layer-git', 'src/git/replay.ts', 'src/git/workspace.ts'),
      // Recovery needs only "is the lock still ours": a small interface of its own in src/git,
      // which core/lock.ts's LockHandle satisfies, instead of the LockHandle type.
      known('layer-git', 'src/git/recovery.ts', 'src/core/lock.ts'),
      // The ignore globs are shared by the watcher and the stage filter: src/git/ignore.ts moves to
      // src/git/ignore.ts (the watcher and the daemon import it from there).
      known('layer-git', 'src/git/stage-filter.ts', 'src/git/ignore.ts'),
      known('boundary-entry', 'src/git/stage-filter.ts', 'src/git/ignore.ts'),
      known('boundary-entry', 'src/daemon/daemon-watcher.ts', 'src/git/ignore.ts'),

      // --- src/core imports services (layer-core, siblings-services) ---
      // The daemon's pid file and state file are read by status, doctor and the daemon alike:
      // daemon/pidfile.ts and daemon/daemon-state.ts move to src/core.
      known('layer-core', 'src/core/status-view.ts', 'src/core/pidfile.ts'),
      known('layer-core', 'src/core/status-view.ts', 'src/core/daemon-state.ts'),
      known('siblings-services', 'src/doctor/run-doctor.ts', 'src/core/pidfile.ts'),
      known('siblings-services', 'src/doctor/daemon.ts', 'src/core/pidfile.ts'),
      known('siblings-services', 'src/doctor/daemon.ts', 'src/core/daemon-state.ts'),
      known('siblings-services', 'src/doctor/user-daemon.ts', 'src/core/pidfile.ts'),
      // guided-merge needs one type of doctor's: that type moves into core/guided-merge.ts.
      known('layer-core', 'src/core/guided-merge.ts', 'src/doctor/types.ts'),

      // --- src/client imports src/cli (layer-services) ---
      // The fast path prints as the CLI does: progress.ts, request-print.ts and status-text.ts move
      // to src/client (the CLI imports them from there, downwards).
      known('layer-services', 'src/client/fast-path.ts', 'src/client/progress.ts'),
      known('layer-services', 'src/client/fast-path.ts', 'src/client/request-print.ts'),
      known('layer-services', 'src/client/fast-path.ts', 'src/client/status-text.ts'),

      // --- entry modules of watcher/ and hooks/ (boundary-entry) ---
      // watcher/watcher.ts and hooks/installer.ts re-export runWatch and the hook-block helpers.
      known('boundary-entry', 'src/cli/commands/watch.ts', 'watcher/run-watch.ts'),
      known('boundary-entry', 'src/cli/commands/hooks.ts', 'hooks/hook-block.ts'),

      // --- src/api reads what the CLI shows (layer-services, siblings-services) ---
      // The dashboard's conflict diff and log tail run the CLI's own code: the diff view of
      // conflicts-review.ts and log-view.ts move below the services (e.g. src/core/conflict-view.ts,
      // src/core/log-view.ts), and the CLI and the API both import them from there.
      known('layer-services', 'src/api/routes-dashboard.ts', 'src/cli/context.ts'),
      known('layer-services', 'src/api/routes-dashboard.ts', 'src/cli/commands/conflicts-review.ts'),
      known('siblings-services', 'src/api/routes-dashboard.ts', 'src/core/log-view.ts'),

      // --- cycles (no-circular) ---
      // copiesFor (conflicts.ts) and findMergeBase (conflicts-merge.ts) are shared by the three
      // conflicts commands: they move to a module of their own (e.g. src/cli/conflict-copies.ts).
      cycle(['src/cli/commands/conflicts.ts', 'src/cli/commands/conflicts-merge.ts']),
      cycle(['src/cli/commands/conflicts.ts', 'src/cli/commands/conflicts-review.ts']),
      cycle(['src/cli/commands/conflicts-merge.ts', 'src/cli/commands/conflicts.ts', 'src/cli/commands/conflicts-review.ts']),
      // The chaos harness: world.ts reads two constants of trust.ts, which takes world.ts's types;
      // IGNORE_GLOBS and OWN_STATE_FILES move to a module of their own.
      cycle(['test/chaos/harness/trust.ts', 'test/chaos/harness/world.ts']),
    ]),
  },
};
