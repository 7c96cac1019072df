// Workflow code runs in Temporal's sandbox, where Node's globals (Buffer, process, require,
// setImmediate...) are absent or differ: it is type-checked with no Node types at all
// (tsconfig.workflows.json). `"types": []` alone does not do it: workflow files import activities
// as types, activities import Node, so the program holds @types/node and its globals. The check
// reads every @types/node file as empty and reports what breaks in workflow-safe files only (an
// activity that needs Node is the worker's business, not the sandbox's).
import assert from 'node:assert/strict';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../src/config';

const CONFIG = 'tsconfig.workflows.json';

function workflowDiagnostics(): string[] {
  const file = path.join(projectRoot, CONFIG);
  const { config, error } = ts.readConfigFile(file, (f) => ts.sys.readFile(f));
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, projectRoot, undefined, file);
  assert.deepEqual(parsed.options.types, [], `${CONFIG} must name no type packages`);
  const host = ts.createCompilerHost(parsed.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    /[\\/]node_modules[\\/]@types[\\/]node[\\/]/.test(name)
      ? ts.createSourceFile(name, '', languageVersion)
      : getSourceFile(name, languageVersion, ...rest);
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, host });
  const safe = new Set(parsed.fileNames.map((f) => path.resolve(f)));
  return program
    .getSourceFiles()
    .filter((sf) => safe.has(path.resolve(sf.fileName)))
    .flatMap((sf) => [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)])
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return text;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${path.relative(projectRoot, d.file.fileName)}:${line + 1}:${character + 1}: ${text}`;
    });
}

describe('workflow code without Node types', function () {
  this.timeout(120_000);

  it(`type-checks workflows/ and common/ (${CONFIG}) with no @types/node`, function () {
    const found = workflowDiagnostics();
    assert.deepEqual(found, [], `workflow-safe code needs Node's types:\n${found.join('\n')}`);
  });
});
