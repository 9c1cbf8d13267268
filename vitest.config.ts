import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['./test/support/build-page.ts'],
    testTimeout: 10_000,
    hookTimeout: 10_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
