import { defineConfig } from 'vitest/config';

// The machine has 2 cores; several suites start worker threads and child
// processes of their own, so test files run two at a time at most.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
