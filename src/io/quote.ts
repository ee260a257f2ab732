/**
 * Text read from a model file (layer and class names, weight names and
 * paths) is shown in messages only through `quoteText`/`escapeControls`, so
 * a file cannot write terminal escape sequences (clear screen, a fake "OK",
 * the window title), fake lines, or reorder text with bidi overrides.
 */

/**
 * C0 controls and DEL, C1 controls, the line and paragraph separators, and
 * the bidi embedding / override / isolate marks. `\n` is kept only when
 * `keepNewlines` (for multi-line output this tool writes itself).
 */
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_AND_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeOne(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character written as `\xNN` / `\uNNNN`. */
export function escapeControls(text: string, keepNewlines = false): string {
  return text.replace(keepNewlines ? CONTROLS : CONTROLS_AND_NEWLINE, escapeOne);
}

/** A value from a file, for a message: a string in single quotes, escaped; anything else described. */
export function quoteText(value: unknown): string {
  if (typeof value === 'string') return `'${escapeControls(value)}'`;
  if (value === undefined) return 'undefined';
  let json: string|undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    json = undefined;
  }
  json = json ?? String(value);
  return escapeControls(json.length > 60 ? `${json.slice(0, 57)}...` : json);
}
