import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { root } from './child-gateway.js';

export interface CompiledClient {
  /** Holds the emitted modules as the build lays them out under dist/: client/index.js, protocol/…. */
  dir: string;
  /** Paths relative to `dir`. */
  files: string[];
}

/**
 * src/client/index.ts and everything it imports, compiled by tsc with the build's own settings into a
 * temporary folder: what `npm run build` ships as chatwire/client, without depending on a build having run.
 */
export function compileClient(): CompiledClient {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('tsconfig.build.json could not be read');
  const dir = mkdtempSync(join(tmpdir(), 'chatwire-client-'));
  const program = ts.createProgram([join(root, 'src/client/index.ts')], {
    ...config.options,
    outDir: dir,
    declaration: false,
    sourceMap: false,
  });
  const result = program.emit();
  if (result.emitSkipped) throw new Error('tsc emitted nothing for src/client');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) =>
    file.endsWith('.js'),
  );
  return { dir, files };
}

/** Every module specifier a file imports or re-exports, statically or with import(), comments ignored. */
export function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles.map((imported) => imported.fileName);
}

/** Node-only globals a module uses (identifiers in code, not in comments, strings or property names). */
export function nodeGlobalsIn(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && !isPropertyName(node)) found.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return [...found];
}

const NODE_GLOBALS = new Set([
  'Buffer',
  'process',
  'require',
  '__dirname',
  '__filename',
  'global',
  'setImmediate',
]);

function isPropertyName(node: ts.Identifier): boolean {
  const parent = node.parent;
  return (
    (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
    (ts.isPropertyAssignment(parent) && parent.name === node) ||
    (ts.isMethodDeclaration(parent) && parent.name === node) ||
    (ts.isPropertyDeclaration(parent) && parent.name === node)
  );
}
