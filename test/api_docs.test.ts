/**
 * The API reference (`npm run docs`, TypeDoc) is built from the doc comments,
 * so every public export must have one: a summary and an `@example`
 * (values and functions; a type needs the summary only). This test reads the
 * exports of src/index.ts with the TypeScript compiler, as TypeDoc does, and
 * lists every export that lacks them.
 */
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'src', 'index.ts');

interface ExportDoc {
  name: string;
  kind: 'type'|'value';
  summary: string;
  tags: string[];
}

function exportDocs(): ExportDoc[] {
  const program = ts.createProgram([ENTRY], {strict: true, skipLibCheck: true, target: ts.ScriptTarget.ES2019,
                                             module: ts.ModuleKind.CommonJS, esModuleInterop: true});
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(ENTRY);
  if (!source) throw new Error(`cannot read ${ENTRY}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${ENTRY} has no exports`);
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const isValue = (symbol.flags & ts.SymbolFlags.Value) !== 0;
    return {
      name: exported.getName(),
      kind: isValue ? 'value' : 'type',
      summary: ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim(),
      tags: symbol.getJsDocTags(checker).map((t) => t.name),
    };
  });
}

const DOCS = exportDocs();

it('finds the exports', () => {
  expect(DOCS.length).toBeGreaterThanOrEqual(28);
  expect(DOCS.map((d) => d.name)).toEqual(expect.arrayContaining(
      ['batchNormInference', 'batchNormInferenceLayer', 'foldBatchNormalization', 'replaceBatchNormalization']));
});

it('every public export has a doc comment', () => {
  expect(DOCS.filter((d) => d.summary === '').map((d) => d.name).sort()).toEqual([]);
});

it('every exported function, class and constant has an @example', () => {
  expect(DOCS.filter((d) => d.kind === 'value' && !d.tags.includes('example')).map((d) => d.name).sort())
      .toEqual([]);
});
