/** Fenced code blocks of the Markdown pages, for the block test and the TypeScript consumer test. */
import * as fs from 'fs';
import * as path from 'path';

export interface Block {
  file: string;
  lang: string;
  code: string;
  line: number;
  heading: string;
}

/** The fenced code blocks of a Markdown file, with their language and the heading above them. */
export function codeBlocks(root: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = fs.readFileSync(path.join(root, file), 'utf8').split('\n');
  let heading = '(top)';
  for (let i = 0; i < lines.length; i++) {
    const h = /^#{1,4} (.*)/.exec(lines[i]);
    if (h) heading = h[1];
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    blocks.push({file, lang: open[1], code: body.join('\n') + '\n', line: start + 1, heading});
  }
  return blocks;
}
