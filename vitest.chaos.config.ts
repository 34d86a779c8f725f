import { defineConfig } from 'vitest/config';

// The chaos suite (npm run test:chaos): long randomized runs with real processes, a
// real `git daemon` and kill -9, one file at a time. CHAOS_ROUNDS and CHAOS_SEED tune
// and replay a run; CHAOS_FIGURES_FILE receives the figures as JSON.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
