/**
 * What foldGraphModelArtifacts did, and its text form (printed by the CLI).
 */

export interface GraphFoldReport {
  nodesBefore: number;
  nodesAfter: number;
  /**
   * Each fold: the batch-norm nodes folded (in graph order), the node they
   * went into (its name before the fold), the op and name of the node that
   * replaces them, and the direction: 'backward' into the node before,
   * 'forward' into the convolution or matmul after (a batch norm after an
   * activation or a pooling).
   */
  folded: Array<{nodes: string[], into: string, op: string, node: string, direction: 'backward'|'forward'}>;
  /** Each activation fused into a folded node (its name is now the fused node's). */
  fusedActivations: Array<{node: string, activation: string, into: string}>;
  /** Each batch-norm leftover not folded, its op and why. */
  left: Array<{node: string, op: string, reason: string}>;
  /** Weight bytes as stored, before and after. */
  weightBytesBefore: number;
  weightBytesAfter: number;
}

/**
 * The report of {@link foldGraphModelArtifacts} as a few lines of text: what
 * was folded into which node (and in which direction), the activations fused,
 * what was left and why, and the weight bytes before and after.
 *
 * ```js
 * const artifacts = await tfbni.fileSystem('web_model/model.json').load();
 * const {report} = tfbni.foldGraphModelArtifacts(artifacts);
 * console.log(tfbni.formatGraphFoldReport(report));
 * ```
 */
export function formatGraphFoldReport(report: GraphFoldReport): string {
  return [
    `graph nodes: ${report.nodesBefore} -> ${report.nodesAfter}`,
    `batch norms folded: ${report.folded.length}`,
    ...report.folded.map((f) => `  ${f.nodes.join(' + ')} -> ${f.into} (now ${f.node}: ${f.op}` +
                         `${f.direction === 'forward' ? ', folded forward' : ''})`),
    `activations fused: ${report.fusedActivations.length}`,
    ...report.fusedActivations.map((a) => `  ${a.node} (${a.activation}) -> ${a.into}`),
    `batch norms left: ${report.left.length}`,
    ...report.left.map((l) => `  ${l.node} (${l.op}): ${l.reason}`),
    `weight bytes: ${report.weightBytesBefore} -> ${report.weightBytesAfter}`,
  ].join('\n');
}
