/**
 * esbuild's buildSync for the suites that bundle a piece of the package
 * (cpu, cli, op), followed by esbuild.stop().
 *
 * esbuild serves its synchronous API from a worker thread driving an
 * `esbuild --service` child process, both kept until esbuild.stop(). Every
 * suite has its own module registry, hence its own esbuild, so without the
 * stop each of these suites left a thread and a Go process behind in its
 * jest worker, until the worker exited.
 */
import * as esbuild from 'esbuild';

export function bundleSync<T extends esbuild.BuildOptions>(
    options: esbuild.SameShape<esbuild.BuildOptions, T>): esbuild.BuildResult<T> {
  try {
    return esbuild.buildSync(options);
  } finally {
    void esbuild.stop();
  }
}
