// A jest reporter that ends the run with one plain line, "Tests: N passed,
// N failed" (plus skipped), that CI logs can be read by.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failedSuites = results.numFailedTestSuites;
    console.log(`\nTests: ${results.numPassedTests} passed, ${results.numFailedTests} failed` +
                (skipped ? `, ${skipped} skipped` : ''));
    if (failedSuites > 0 && results.numFailedTests === 0) {
      console.log(`(${failedSuites} test suite(s) failed to run)`);
    }
  }
}
module.exports = SummaryReporter;
