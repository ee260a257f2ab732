/**
 * The layer's checks of an input shape before it is built (tfjs-layers'
 * InputSpec takes over once the channel count is known): rank >= 2, the axis
 * in range and not the batch axis, a known channel count that matches the
 * statistics given. Messages print the input shape.
 */
import {Shape} from '@tensorflow/tfjs-layers';

import {fail} from '../../../kernels/shared/fail';
import {layerWho, shapeText, Statistic} from './channel_values';

/** What the checks need to know of the layer. */
export interface InputShapeContext {
  name: string;
  /** The axis as given (negative counts from the end). */
  axis: number;
  numChannels?: number;
  built: boolean;
  /** The first statistic given to the constructor, if any (named in mismatches). */
  givenProperty?: Statistic;
}

/** The input's number of channels, or an error naming what is wrong. */
export function channelsOfInput(shape: ReadonlyArray<number|null>, layer: InputShapeContext): number {
  const who = layerWho(layer.name);
  const rank = shape.length;
  if (rank < 2) {
    fail(who, `the input must have rank >= 2 (a batch axis and a channel axis), but got ` +
         `input shape ${shapeText(shape)} (rank ${rank}).`);
  }
  if (layer.axis < -rank || layer.axis >= rank) {
    fail(who, `axis ${layer.axis} is out of range for input shape ${shapeText(shape)} ` +
         `(rank ${rank}); use an integer in [${-rank}, ${rank - 1}].`);
  }
  const axis = layer.axis < 0 ? layer.axis + rank : layer.axis;
  if (axis === 0) {
    fail(who, `axis ${layer.axis} is the batch axis of input shape ${shapeText(shape)}; ` +
         `the channel axis must be one of 1..${rank - 1} (or -1..${-(rank - 1)}).`);
  }
  const channels = shape[axis];
  const where = `axis ${layer.axis} of input shape ${shapeText(shape)}`;
  if (channels == null) {
    fail(who, `the number of channels (${where}) is unknown; BatchNormInference needs a ` +
         `fixed number of channels.`);
  }
  const expected = layer.numChannels;
  if (expected !== undefined && channels !== expected) {
    if (layer.built) {
      fail(who, `the layer was built for ${expected} channels, but the input has ` +
           `${channels} channels (${where}).`);
    }
    const property = layer.givenProperty;
    fail(who, property !== undefined ?
             `${property} has ${expected} value${expected > 1 ? 's' : ''} ` +
                 `but the input has ${channels} channels (${where}).` :
             `NumChannels is ${expected} but the input has ${channels} channels (${where}).`);
  }
  return channels;
}

/** The one shape of a single-input layer, or an error if several are given. */
export function exactlyOneShape(inputShape: Shape|Shape[], name: string): Shape {
  if (Array.isArray(inputShape[0])) {
    const shapes = inputShape as Shape[];
    if (shapes.length !== 1) {
      fail(layerWho(name), `expects exactly one input, but got ${shapes.length} ` +
           `(shapes ${shapes.map(shapeText).join(', ')}).`);
    }
    return shapes[0];
  }
  return inputShape as Shape;
}
