import { defineConfig } from 'vitest/config';

// Integration tests spawn real git and node processes. The CI machine has 2 noisy
// cores, so at most two test files run at once; every wait in a test polls a condition
// with a deadline (test/helpers/cli.ts waitFor), never a fixed sleep.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'watcher/**/*.test.ts', 'hooks/**/*.test.ts'],
    exclude: ['test/chaos/**'],
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 20_000,
  },
});
