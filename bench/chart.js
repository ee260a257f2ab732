/*
 * Renders benchmark results as a small self-contained SVG bar chart: per shape,
 * nanoseconds per element of this package, tf.batchNorm and the baseline
 * (copy on cpu, tf.add(x, 0) on webgl), one panel per backend.
 */
'use strict';

const COLORS = {ours: '#2b8a3e', batchNorm: '#c92a2a', baseline: '#868e96'};

function escapeXml(s) {
  return String(s).replace(/[<>&"]/g, (c) => ({'<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;'}[c]));
}

/**
 * panels: [{title, baselineLabel, rows: [{label, ours, batchNorm, baseline}]}]
 * with times in ns per element.
 */
function renderChart(panels, {title = 'ns per element (lower is better)'} = {}) {
  const width = 760;
  const labelWidth = 200;
  const barHeight = 9;
  const rowGap = 10;
  const plotWidth = width - labelWidth - 70;
  let y = 48;
  const parts = [];
  for (const panel of panels) {
    const max = Math.max(...panel.rows.flatMap((r) => [r.ours, r.batchNorm, r.baseline]));
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 10;
    for (const r of panel.rows) {
      const bars = [['ours', r.ours], ['batchNorm', r.batchNorm], ['baseline', r.baseline]];
      parts.push(`<text x="${labelWidth - 8}" y="${y + 1.6 * barHeight}" text-anchor="end">` +
                 `${escapeXml(r.label)}</text>`);
      bars.forEach(([key, v], i) => {
        const w = Math.max(1, (v / max) * plotWidth);
        const by = y + i * barHeight;
        parts.push(`<rect x="${labelWidth}" y="${by}" width="${w.toFixed(1)}" ` +
                   `height="${barHeight - 1}" fill="${COLORS[key]}"/>`);
        parts.push(`<text x="${(labelWidth + w + 4).toFixed(1)}" y="${by + barHeight - 1.5}" ` +
                   `font-size="9">${v.toFixed(2)}</text>`);
      });
      y += 3 * barHeight + rowGap;
    }
    y += 16;
  }
  const legend = [['ours', 'batchNormInference (this package)'], ['batchNorm', 'tf.batchNorm'],
                  ['baseline', panels.map((p) => p.baselineLabel).join(' / ')]];
  const legendParts = legend.map(([key, text], i) =>
      `<rect x="${10 + i * 250}" y="${y}" width="10" height="10" fill="${COLORS[key]}"/>` +
      `<text x="${24 + i * 250}" y="${y + 9}">${escapeXml(text)}</text>`);
  const height = y + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">\n` +
      `<rect width="100%" height="100%" fill="white"/>\n` +
      `<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>\n` +
      parts.join('\n') + '\n' + legendParts.join('\n') + '\n</svg>\n';
}

module.exports = {renderChart};
