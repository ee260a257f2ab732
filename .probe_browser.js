const tools = require('./tools/chromium.js');
(async () => {
  for (const be of ['webgl', 'webgpu']) {
    const s = await tools.startSession({extraFlags: be === 'webgpu' ? tools.WEBGPU_FLAGS : []});
    const page = await s.open('/test/browser/harness.html?backend=' + be);
    const out = await page.evaluate(async (be) => {
      await tf.setBackend(be); await tf.ready();
      const lines = [];
      const v = [NaN, Infinity, -Infinity, 1, -1, 7];
      for (const act of ['linear','relu','relu6','elu','leakyrelu','sigmoid']) {
        const a = tf.tensor2d(v, [6, 1]);
        const y = tf.fused.matMul({a, b: tf.ones([1,1]), bias: tf.tensor1d([0]), activation: act, leakyreluAlpha: 0.2});
        const x = tf.tensor4d(v, [1, 6, 1, 1]);
        const c = tf.fused.conv2d({x, filter: tf.ones([1,1,1,1]), strides: 1, pad: 'valid', bias: tf.tensor1d([0]), activation: act, leakyreluAlpha: 0.2});
        const d = tf.fused.depthwiseConv2d({x, filter: tf.ones([1,1,1,1]), strides: 1, pad: 'valid', bias: tf.tensor1d([0]), activation: act, leakyreluAlpha: 0.2});
        const x8 = tf.tensor4d([...v, 0, 0], [1, 2, 2, 2]);
        const c8 = tf.fused.conv2d({x: x8, filter: tf.ones([1,1,2,4]), strides: 1, pad: 'same', bias: tf.zeros([4]), activation: act, leakyreluAlpha: 0.2});
        lines.push(`${be} ${act} matMul ${await y.data()} conv ${await c.data()} dw ${await d.data()} conv8 ${await c8.data()}`);
        if (act !== 'linear') {
          const t = tf.tensor1d(v);
          const un = act === 'leakyrelu' ? tf.leakyRelu(t, 0.2) : tf[act](t);
          lines.push(`   unary ${await un.data()}`);
        }
      }
      const t = tf.tensor1d(v);
      lines.push(`   where ${await tf.where(tf.isNaN(t), t, tf.relu6(t)).data()}`);
      lines.push(`   add ${await tf.add(t, tf.scalar(1)).data()}`);
      return lines.join('\n');
    }, be);
    console.log(out);
    await s.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
