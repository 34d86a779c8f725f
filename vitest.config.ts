import { defineConfig } from 'vitest/config';

// Integration tests spawn real git and node processes. The CI machine has 2 noisy
// cores, so at most two test files run at once and the process-heavy files are
// additionally serialized through test/helpers/heavy.ts.
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
