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
  transform: {
    '^.+\\.ts$': ['ts-jest', {tsconfig: 'tsconfig.json', diagnostics: {warnOnly: false}}],
  },
};
