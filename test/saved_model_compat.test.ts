/**
 * Models saved by version 0.1 still load: test/fixtures/saved_model_v0_1
 * (written once by its generate.js and committed) holds two
 * BatchNormInference layers, channels last and channels first. This suite
 * freezes what such files contain: the class name `BatchNormInference`, the
 * config keys and the weight names.
 *
 * Tolerance: predictions are compared with the float64 formula within half
 * an ulp of float32 (formulaMismatches, the 'cpu' profile of
 * helpers/reference.ts): the cpu kernel folds in float64 and rounds once.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';

import {BatchNormInferenceLayer, batchNormInferenceLayer} from '../src';
import {fileSystemIO, readModelJSON} from './helpers/fs_io';
import {expectNoLeaks} from './helpers/leaks';
import {formulaMismatches, randomTensor, Statistics, statisticsOf} from './helpers/layer_reference';
import fixtureValues from './fixtures/saved_model_v0_1/values.json';

const FIXTURE = path.join(__dirname, 'fixtures', 'saved_model_v0_1');
const LAYER_NAMES = ['bn_last', 'bn_first'] as const;

interface LayerEntry {
  class_name: string;
  config: Record<string, unknown>;
}

function layerEntries(topology: unknown): LayerEntry[] {
  return (topology as {config: {layers: LayerEntry[]}}).config.layers;
}

function expectedStatistics(name: typeof LAYER_NAMES[number]): Statistics {
  const v = fixtureValues[name];
  return {
    gamma: Float32Array.from(v.Scale),
    beta: Float32Array.from(v.Offset),
    mean: Float32Array.from(v.TrainedMean),
    variance: Float32Array.from(v.TrainedVariance),
    epsilon: v.Epsilon,
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('saved model v0.1', () => {
  it('model.json names the class BatchNormInference, with the v0.1 config keys', () => {
    const entries = layerEntries(readModelJSON(FIXTURE).modelTopology).slice(1);
    expect(entries.map((e) => e.class_name)).toEqual(['BatchNormInference', 'BatchNormInference']);
    for (const [i, name] of LAYER_NAMES.entries()) {
      expect(entries[i].config).toEqual({
        epsilon: fixtureValues[name].Epsilon,
        axis: fixtureValues[name].axis,
        num_channels: fixtureValues[name].TrainedMean.length,
        name,
        trainable: true,
      });
    }
  });

  it('the layer class is registered under the literal name BatchNormInference', () => {
    expect(BatchNormInferenceLayer.className).toBe('BatchNormInference');
    expect(batchNormInferenceLayer().getClassName()).toBe('BatchNormInference');
    const entry = tf.serialization.SerializationMap.getMap().classNameMap['BatchNormInference'];
    expect(entry[0]).toBe(BatchNormInferenceLayer);
  });

  it('loads with tf.loadLayersModel and predicts the float64 formula', async () => {
    await expectNoLeaks(async () => {
      const model = await tf.loadLayersModel(fileSystemIO(FIXTURE));
      try {
        const layers = LAYER_NAMES.map((n) => model.getLayer(n) as BatchNormInferenceLayer);
        for (const [i, layer] of layers.entries()) {
          expect(layer).toBeInstanceOf(BatchNormInferenceLayer);
          expect(layer.getClassName()).toBe('BatchNormInference');
          expect(layer.axis).toBe(fixtureValues[LAYER_NAMES[i]].axis);
          expect(statisticsOf(layer)).toEqual(expectedStatistics(LAYER_NAMES[i]));
        }
        const x = randomTensor([4, ...fixtureValues.inputShape], 11, -4, 4);
        const y = model.predict(x) as tf.Tensor;
        // Layer by layer: each against the formula applied to its own input.
        const hidden = layers[0].apply(x) as tf.Tensor;
        const out = layers[1].apply(hidden) as tf.Tensor;
        expect(formulaMismatches(hidden, x, -1, expectedStatistics('bn_last'))).toEqual([]);
        expect(formulaMismatches(out, hidden, 1, expectedStatistics('bn_first'))).toEqual([]);
        expect(y.shape).toEqual([4, ...fixtureValues.inputShape]);
        expect(y.dataSync()).toEqual(out.dataSync());
        tf.dispose([x, y, hidden, out]);
      } finally {
        model.dispose();
      }
    });
  });

  it('a model saved today writes the same class names and weight names', async () => {
    const fixture = readModelJSON(FIXTURE);
    const model = await tf.loadLayersModel(fileSystemIO(FIXTURE));
    try {
      let saved: tf.io.ModelArtifacts|undefined;
      await model.save(tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
      }));
      expect(layerEntries(saved!.modelTopology).map((e) => e.class_name))
          .toEqual(layerEntries(fixture.modelTopology).map((e) => e.class_name));
      expect(saved!.weightSpecs!.map((w) => w.name))
          .toEqual(fixture.weightsManifest[0].weights.map((w) => w.name));
    } finally {
      model.dispose();
    }
  });
});
