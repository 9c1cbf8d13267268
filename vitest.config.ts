import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/support/build-page.ts'],
    // Vitest's default on 2 cores is one worker; most of the suite waits on child processes, sockets and
    // browsers rather than computing, so two files at a time take about half the wall time.
    maxWorkers: 2,
    testTimeout: 10_000,
    hookTimeout: 10_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
