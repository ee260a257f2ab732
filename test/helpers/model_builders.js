/*
 * Models for the end-to-end bench (bench/models.js), the fold tests and the
 * fold example, built with tf.layers and given deterministic weights and
 * realistic batch norm statistics (nothing is downloaded).
 *
 * Every builder takes the tf namespace (Node's @tensorflow/tfjs or a page's
 * global tf), so the same models run in Node and in the browser bench page.
 * Loadable with require() and as a plain <script> (sets globalThis.tfbniModels).
 */
(function (root) {
  'use strict';
  const stats = typeof module === 'object' && module.exports ? require('./stats.js') : root.tfbniStats;

  /** While set, convBn builds the convolution alone (see withoutBatchNorm). */
  let bare = false;

  /** conv -> BatchNormalization (-> activation layer). */
  function convBn(tf, x, name, conv, activation) {
    x = conv.apply(x);
    if (bare) return x;
    x = tf.layers.batchNormalization({name: `${name}_bn`, epsilon: 1e-3}).apply(x);
    if (activation === 'relu6') x = tf.layers.reLU({name: `${name}_relu6`, maxValue: 6}).apply(x);
    else if (activation === 'relu') x = tf.layers.reLU({name: `${name}_relu`}).apply(x);
    return x;
  }

  const makeDivisible = (v) => Math.max(8, Math.floor((v + 4) / 8) * 8);

  /**
   * MobileNetV2 (alpha 1.0) as keras.applications builds it (except that its
   * stride-2 depthwise convs pad 'same' instead of ZeroPadding2D + 'valid'): stem conv,
   * 17 inverted residual blocks (expand 1x1 conv, 3x3 depthwise, project 1x1
   * conv, each with BatchNormalization; ReLU(maxValue 6) after expand and
   * depthwise; Add when the shapes match), 1x1 conv to 1280, pooling, dense.
   */
  function mobileNetV2(tf, {size = 224, classes = 1000} = {}) {
    const input = tf.input({shape: [size, size, 3], name: 'input'});
    let x = convBn(tf, input, 'stem', tf.layers.conv2d({name: 'stem_conv', filters: 32, kernelSize: 3,
      strides: 2, padding: 'same', useBias: false}), 'relu6');
    let channels = 32;
    const settings = [  // expansion t, output c, repeats n, first stride s
      [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
    ];
    let block = 0;
    for (const [t, c, n, s] of settings) {
      for (let i = 0; i < n; i++) {
        const name = `block${block++}`;
        const stride = i === 0 ? s : 1;
        const out = makeDivisible(c);
        let y = x;
        if (t !== 1) {
          y = convBn(tf, y, `${name}_expand`, tf.layers.conv2d({name: `${name}_expand`, filters: channels * t,
            kernelSize: 1, useBias: false}), 'relu6');
        }
        y = convBn(tf, y, `${name}_dw`, tf.layers.depthwiseConv2d({name: `${name}_dw`, kernelSize: 3,
          strides: stride, padding: 'same', useBias: false}), 'relu6');
        y = convBn(tf, y, `${name}_project`, tf.layers.conv2d({name: `${name}_project`, filters: out,
          kernelSize: 1, useBias: false}), null);
        x = stride === 1 && channels === out ? tf.layers.add({name: `${name}_add`}).apply([x, y]) : y;
        channels = out;
      }
    }
    x = convBn(tf, x, 'top', tf.layers.conv2d({name: 'top_conv', filters: 1280, kernelSize: 1, useBias: false}),
               'relu6');
    x = tf.layers.globalAveragePooling2d({name: 'pool'}).apply(x);
    x = tf.layers.dense({name: 'logits', units: classes}).apply(x);
    return tf.model({name: 'mobilenet_v2', inputs: input, outputs: x});
  }

  /**
   * ResNet-style basic blocks (conv-bn-relu, conv-bn, Add, relu; a strided
   * 1x1 conv-bn shortcut where the shape changes): two at size x size x
   * width, two at half the size and twice the width.
   */
  function resNetBlocks(tf, {size = 28, width = 32} = {}) {
    const input = tf.input({shape: [size, size, width], name: 'input'});
    let x = input;
    let channels = width;
    [[width, 1], [width, 1], [2 * width, 2], [2 * width, 1]].forEach(([filters, stride], i) => {
      const name = `res${i}`;
      let y = convBn(tf, x, `${name}_a`, tf.layers.conv2d({name: `${name}_a`, filters, kernelSize: 3,
        strides: stride, padding: 'same', useBias: false}), 'relu');
      y = convBn(tf, y, `${name}_b`, tf.layers.conv2d({name: `${name}_b`, filters, kernelSize: 3,
        padding: 'same', useBias: false}), null);
      let shortcut = x;
      if (stride !== 1 || channels !== filters) {
        shortcut = convBn(tf, x, `${name}_short`, tf.layers.conv2d({name: `${name}_short`, filters,
          kernelSize: 1, strides: stride, useBias: false}), null);
      }
      x = tf.layers.add({name: `${name}_add`}).apply([shortcut, y]);
      x = tf.layers.reLU({name: `${name}_out`}).apply(x);
      channels = filters;
    });
    return tf.model({name: 'resnet_blocks', inputs: input, outputs: x});
  }

  /** A small CNN: three conv-bn-relu blocks, a dense-bn-relu, a dense head. */
  function smallCnn(tf, {size = 32} = {}) {
    const input = tf.input({shape: [size, size, 3], name: 'input'});
    let x = input;
    [16, 32, 64].forEach((filters, i) => {
      x = convBn(tf, x, `conv${i}`, tf.layers.conv2d({name: `conv${i}`, filters, kernelSize: 3,
        strides: i === 0 ? 1 : 2, padding: 'same'}), 'relu');
    });
    x = tf.layers.globalAveragePooling2d({name: 'pool'}).apply(x);
    x = convBn(tf, x, 'fc', tf.layers.dense({name: 'fc', units: 64}), 'relu');
    x = tf.layers.dense({name: 'logits', units: 10}).apply(x);
    return tf.model({name: 'small_cnn', inputs: input, outputs: x});
  }

  /**
   * The model `build()` makes with every batch norm and the activation after
   * it left out: the bench's upper bound for folding (different outputs,
   * timing only).
   */
  function withoutBatchNorm(build) {
    bare = true;
    try {
      return build();
    } finally {
      bare = false;
    }
  }

  /**
   * Deterministic weights for every layer of `model` (nested models too):
   * kernels uniform in the Glorot range, biases small, and batch norm
   * statistics as trained networks have them (gamma around 1, beta and mean
   * of order 0.1-1, variances from 0.05 to 2).
   */
  function randomizeWeights(tf, model, seed = 1) {
    const next = stats.prng(seed);
    const uniform = (lo, hi) => lo + (hi - lo) * next();
    const ranges = {
      gamma: [0.5, 1.5], beta: [-0.5, 0.5], moving_mean: [-0.5, 0.5], moving_variance: [0.05, 2],
      bias: [-0.1, 0.1], alpha: [0.05, 0.3],
    };
    const values = model.weights.map((w) => {
      const shape = w.shape;
      const size = shape.reduce((a, b) => a * b, 1);
      const kind = w.originalName.split('/').pop();
      let range = ranges[kind];
      if (range === undefined) {  // a kernel
        const fanOut = shape[shape.length - 1];
        const limit = Math.sqrt(6 / (size / fanOut + fanOut));
        range = [-limit, limit];
      }
      return tf.tensor(Float32Array.from({length: size}, () => uniform(range[0], range[1])), shape);
    });
    model.setWeights(values);
    tf.dispose(values);
    return model;
  }

  /**
   * MobileNetV2 (alpha 1.0, the same blocks as mobileNetV2 above) as a
   * GraphModel exported the Keras 3 way, node for node as
   * tensorflowjs_converter 4.22 writes a TF 2.19 Keras MobileNetV2
   * (programistress/meow-or-woof-classifier's public/web_model): Keras 3
   * builds BatchNormalization with tf.nn.batch_normalization, and grappler
   * folds it into the 1x1 convolutions but leaves every depthwise one as
   * DepthwiseConv2dNative -> Mul -> AddV2 -> Relu6; expand and stem convs are
   * _FusedConv2D[BiasAdd, Relu6]; a projection is _FusedConv2D[BiasAdd], or,
   * before a residual sum, Conv2D -> AddN(x, conv) -> AddV2(shift). Mean
   * pooling, _FusedMatMul logits. G is test/fixtures/graph/graph_builder.js;
   * returns the artifacts (deterministic random weights; Mul scales and AddV2
   * shifts as folded trained statistics give them).
   */
  function mobileNetV2Graph(G, {size = 224, classes = 1000, seed = 1} = {}) {
    const g = G.createGraph(seed);
    let n = 0;
    const shift = (name, channels) => g.perChannel(name, channels, [-0.5, 0.5]);
    let x = g.input('input', [-1, size, size, 3]);
    x = g.fusedConv2d('stem', x, [3, 3, 3, 32], ['BiasAdd', 'Relu6'], {strides: 2});
    let channels = 32;
    const settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
    for (const [t, c, repeats, s] of settings) {
      for (let i = 0; i < repeats; i++) {
        const name = `block${n++}`;
        const stride = i === 0 ? s : 1;
        const out = makeDivisible(c);
        const wide = channels * t;
        let y = x;
        if (t !== 1) y = g.fusedConv2d(`${name}_expand`, y, [1, 1, channels, wide], ['BiasAdd', 'Relu6']);
        y = g.depthwise(`${name}_dw`, y, [3, 3, wide, 1], {strides: stride});
        y = g.binary('Mul', `${name}_dw_bn/mul_1`, y, g.perChannel(`${name}_dw_bn/mul`, wide, [0.5, 1.5]));
        y = g.binary('AddV2', `${name}_dw_bn/add_1`, y, shift(`${name}_dw_bn/sub`, wide));
        y = g.unary('Relu6', `${name}_dw_relu`, y);
        if (stride === 1 && channels === out) {
          y = g.conv2d(`${name}_project`, y, [1, 1, wide, out]);
          const sum = g.node('AddN', `${name}_add/AddN`, [x, y], {N: {i: '2'}, T: {type: 'DT_FLOAT'}});
          x = g.binary('AddV2', `${name}_add`, shift(`${name}_project_bn/sub`, out), sum);
        } else {
          x = g.fusedConv2d(`${name}_project`, y, [1, 1, wide, out], ['BiasAdd']);
        }
        channels = out;
      }
    }
    x = g.fusedConv2d('top', x, [1, 1, channels, 1280], ['BiasAdd', 'Relu6']);
    x = g.node('Mean', 'pool', [x, g.constant('pool/axes', [2], [1, 2], 'int32')],
               {T: {type: 'DT_FLOAT'}, Tidx: {type: 'DT_INT32'}, keep_dims: {b: false}});
    x = g.matmul('logits', x, [1280, classes], {fusedBias: true});
    return g.artifacts([x]);
  }

  const api = {mobileNetV2, mobileNetV2Graph, resNetBlocks, smallCnn, randomizeWeights, withoutBatchNorm};
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.tfbniModels = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
