/**
 * What each chaos device is set up with and keeps: its `watch.ignore` globs and the state
 * files it owns. world.ts writes them when it makes a device, trust.ts checks them through
 * the run; here, so that neither imports the other for them.
 */

/** The devices' `watch.ignore` (chaosConfig). */
export const IGNORE_GLOBS = ['secrets/**', '**/*.key'];
/** Device-owned state files that no sync may change (the coordinator never writes them). */
export const OWN_STATE_FILES = ['config.json', 'hooks/post-merge.sh'];
