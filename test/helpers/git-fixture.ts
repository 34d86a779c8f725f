/**
 * Real git repositories for tests: a bare remote plus clones in a temp dir (the shared
 * sandbox of test/helpers/sandbox.mjs, which the bench and the demo use too).
 */
export { makeSandbox, PROJECT_ROOT, type Sandbox } from './sandbox.mjs';
