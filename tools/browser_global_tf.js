// Used only by the browser bundle (see "build:browser" in package.json): every
// @tensorflow/* import resolves to this module, i.e. to the page's global `tf`
// from TensorFlow.js's own bundle (tf.min.js re-exports core, layers, cpu and
// webgl), so the plugin and the page share one engine and one kernel registry.
if (typeof tf === 'undefined') {
  throw new Error(
      'tfjs-batchnorm-inference: load TensorFlow.js (tf.min.js) with a <script> tag ' +
      'before tfjs-batchnorm-inference.min.js.');
}
module.exports = tf;
