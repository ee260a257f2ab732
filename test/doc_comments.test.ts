/**
 * Every export of the package root (src/index.ts) has a doc comment, as
 * tfjs's do: a one-line summary, and for functions and classes a short
 * example in a ``` block. Read with the TypeScript compiler API from the
 * sources, so a new export without one fails here.
 */
import * as path from 'path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const INDEX = path.join(ROOT, 'src', 'index.ts');

interface ExportDoc {
  name: string;
  kind: 'function'|'class'|'variable'|'type';
  summary: string;
  text: string;
}

function rootExports(): ExportDoc[] {
  const program = ts.createProgram([INDEX], {
    target: ts.ScriptTarget.ES2019, module: ts.ModuleKind.CommonJS, strict: true,
    esModuleInterop: true, skipLibCheck: true, noEmit: true,
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  return checker.getExportsOfModule(moduleSymbol).map((exported) => {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations![0];
    // a variable holding a function (an op made with tfjs's op()) counts as a function
    const callable = ts.isVariableDeclaration(declaration) &&
        checker.getTypeOfSymbolAtLocation(symbol, declaration).getCallSignatures().length > 0;
    const kind = ts.isFunctionDeclaration(declaration) || callable ? 'function' :
        ts.isClassDeclaration(declaration) ? 'class' :
        ts.isVariableDeclaration(declaration) ? 'variable' : 'type';
    // the comment above the declaration (a variable's is on its statement)
    const node = ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
    const text = ts.getJSDocCommentsAndTags(node).map((d) => d.getText()).join('\n');
    const summary = ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
    return {name: exported.name, kind, summary, text};
  });
}

const EXPORTS = rootExports();

describe('the package root exports', () => {
  it('are found (the parse works)', () => {
    expect(EXPORTS.map((e) => e.name)).toEqual(expect.arrayContaining(
        ['batchNormInference', 'batchNormInferenceLayer', 'BatchNormInferenceLayer',
         'foldBatchNormalization', 'replaceBatchNormalization', 'version']));
  });

  it.each(EXPORTS.map((e) => [e.name, e] as const))('%s has a doc comment with a summary', (_, e) => {
    expect({name: e.name, summary: e.summary.split('\n')[0]})
        .toEqual({name: e.name, summary: expect.stringMatching(/\S/)});
  });

  const callable = EXPORTS.filter((e) => e.kind === 'function' || e.kind === 'class');
  it.each(callable.map((e) => [e.name, e] as const))('%s has an example', (_, e) => {
    expect({name: e.name, example: /```(js|ts)?\n[\s\S]+?```/.test(e.text)})
        .toEqual({name: e.name, example: true});
  });
});
