/**
 * The API reference (`npm run docs`, TypeDoc) is built from the doc comments.
 * test/doc_comments.test.ts checks that every root export has a summary (and
 * every function and class a fenced example); this test runs TypeDoc with the
 * options `npm run docs` uses (typedoc.json), writing JSON instead of HTML,
 * and checks that the reference documents every export of src/index.ts (read
 * with the TypeScript compiler, as TypeDoc reads it).
 */
import {spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'src', 'index.ts');

interface ExportDoc {
  name: string;
}

function exportDocs(): ExportDoc[] {
  const program = ts.createProgram([ENTRY], {strict: true, skipLibCheck: true, target: ts.ScriptTarget.ES2019,
                                             module: ts.ModuleKind.CommonJS, esModuleInterop: true});
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY);
  if (!source) throw new Error(`cannot read ${ENTRY}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${ENTRY} has no exports`);
  return checker.getExportsOfModule(moduleSymbol).map((exported) => ({name: exported.getName()}));
}

const DOCS = exportDocs();

it('finds the exports', () => {
  expect(DOCS.length).toBeGreaterThanOrEqual(28);
  expect(DOCS.map((d) => d.name)).toEqual(expect.arrayContaining(
      ['batchNormInference', 'batchNormInferenceLayer', 'foldBatchNormalization', 'replaceBatchNormalization']));
});

it('TypeDoc (npm run docs) documents every export', () => {
  const typedoc = path.join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc');
  if (!fs.existsSync(typedoc)) {
    throw new Error("typedoc is not installed: run 'npm ci' (it is a devDependency; npm run docs uses it).");
  }
  // Both outputs go to a new temporary folder: TypeDoc empties its HTML output folder first.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfbni-typedoc-'));
  const out = path.join(tmp, 'api.json');
  try {
    const result = spawnSync(process.execPath, [typedoc, '--options', 'typedoc.json', '--json', out,
                                                '--out', path.join(tmp, 'html')],
                             {cwd: ROOT, encoding: 'utf8', timeout: 240000});
    if (!fs.existsSync(out)) throw new Error(`typedoc failed (exit ${result.status}):\n${result.stdout}${result.stderr}`);
    const documented = (JSON.parse(fs.readFileSync(out, 'utf8')).children as Array<{name: string}>).map((c) => c.name);
    expect(DOCS.map((d) => d.name).filter((name) => !documented.includes(name))).toEqual([]);
  } finally {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}, 300000);
