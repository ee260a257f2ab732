/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The browser suites start Chromium (software GL) and the examples suite
  // spawns Node: give them room on a 2-core machine. Under heavy load the
  // first webgl configuration's cases took over 120 s, and a test that times
  // out while its page.evaluate is still running left a worker that jest had
  // to force-exit ("A worker process has failed to exit gracefully").
  testTimeout: 300000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/helpers/summary_reporter.js'],
  // tsconfig.json sets isolatedModules, so ts-jest transpiles each file on
  // its own (as esbuild builds the package) and keeps no TypeScript program
  // in the workers; types are checked once, by 'tsc --noEmit -p .' in
  // 'npm test'. A program per worker (~150 MB of heap) made each worker
  // slower to exit than jest's 500 ms ("A worker process has failed to exit
  // gracefully"): the worker's event loop was empty within 30 ms of jest's
  // request, the rest was Node and the kernel freeing its memory.
  transform: {
    '^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: {warnOnly: false}}],
  },
};
