/**
 * What foldBatchNormalization did, and its text form (printed by the CLI and
 * the example).
 */

export interface FoldReport {
  /** Layers other than inputs (those of nested models counted one by one). */
  layersBefore: number;
  layersAfter: number;
  /** Each batch norm folded, the layer it went into and that layer's class now. */
  folded: Array<{batchNorm: string, into: string, className: string}>;
  /** Each activation layer fused into a folded layer (tf.fused name). */
  fusedActivations: Array<{layer: string, activation: string, into: string}>;
  /** Each batch norm left in the model, its class now and why it was not folded. */
  left: Array<{name: string, className: string, reason: string}>;
  /** Activation layers after a batch norm that stayed layers of their own, and why. */
  keptActivations: Array<{name: string, reason: string}>;
}

/**
 * The report of foldBatchNormalization as a few lines of text.
 *
 * ```js
 * const {report} = tfbni.foldBatchNormalization(model);
 * console.log(tfbni.formatFoldReport(report));
 * ```
 */
export function formatFoldReport(report: FoldReport): string {
  const lines = [
    `layers: ${report.layersBefore} -> ${report.layersAfter}`,
    `batch norms folded: ${report.folded.length}`,
    ...report.folded.map((f) => `  ${f.batchNorm} -> ${f.into} (${f.className})`),
    `activations fused: ${report.fusedActivations.length}`,
    ...report.fusedActivations.map((a) => `  ${a.layer} (${a.activation}) -> ${a.into}`),
    `batch norms left: ${report.left.length}`,
    ...report.left.map((l) => `  ${l.name} (${l.className}): ${l.reason}`),
  ];
  if (report.keptActivations.length > 0) {
    lines.push(`activations kept as layers: ${report.keptActivations.length}`,
               ...report.keptActivations.map((a) => `  ${a.name}: ${a.reason}`));
  }
  return lines.join('\n');
}
