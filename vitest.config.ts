import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Simulation sweeps are CPU-bound; two workers match the two cores we size for.
    maxWorkers: 2,
    testTimeout: 120_000,
    // Hooks start browsers and clusters; a loaded CI machine needs more than the 10 s default.
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
