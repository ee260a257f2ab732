/**
 * Registration of the fused layer classes for serialization, so models
 * folded by foldBatchNormalization save and load. Idempotent and silent.
 */
import {serialization} from '@tensorflow/tfjs-core';

import {FusedConv2D} from './fused_conv2d';
import {FusedDense} from './fused_dense';
import {FusedDepthwiseConv2D} from './fused_depthwise_conv2d';

export const FUSED_LAYER_CLASSES = [FusedConv2D, FusedDepthwiseConv2D, FusedDense];

export function registerFusedLayers(): void {
  const map = serialization.SerializationMap.getMap().classNameMap;
  for (const cls of FUSED_LAYER_CLASSES) {
    const entry = map[cls.className];
    if (entry == null || entry[0] !== cls) serialization.registerClass(cls);
  }
}
