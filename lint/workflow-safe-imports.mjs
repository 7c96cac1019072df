// Workflow-safe code (replayed deterministically in the workflow sandbox) imports by allowlist:
// the SDK's workflow-side packages and other workflow-safe files. Anything else (Node built-ins,
// activities, worker-side folders, any other package) only as `import type`, which compiles away.
import path from 'node:path';

/** The folders holding workflow-safe code, relative to the project root. */
export const WORKFLOW_SAFE_DIRS = ['workflows', 'common'];
/**
 * Workflow-safe files elsewhere, as globs (`*`: one path segment): in a runbook's folder
 * (runbooks/<name>/), its workflow and its definition, and what is generated from the index.
 */
export const WORKFLOW_SAFE_FILES = [
  'runbooks/index.ts',
  'runbooks/*/workflow.ts',
  'runbooks/*/definition.ts',
  'runbooks/workflows.generated.ts',
  'runbooks/definitions.generated.ts',
];
/** Every workflow-safe source file, as globs for eslint's and tsc's `files`. */
export const WORKFLOW_SAFE_GLOBS = [...WORKFLOW_SAFE_DIRS.map((dir) => `${dir}/**/*.ts`), ...WORKFLOW_SAFE_FILES];

const globPattern = (glob) => new RegExp(`^${glob.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
const SAFE_FILE_PATTERNS = WORKFLOW_SAFE_FILES.map(globPattern);

/** Whether a path relative to the project root (with `/`) is workflow-safe code. */
export function isWorkflowSafe(rel) {
  const file = /\.[cm]?[jt]s$/.test(rel) ? rel : `${rel}.ts`;
  return (
    WORKFLOW_SAFE_DIRS.some((dir) => rel === dir || rel.startsWith(`${dir}/`)) ||
    SAFE_FILE_PATTERNS.some((p) => p.test(file))
  );
}
/** The packages workflow-safe code may import values from. */
export const WORKFLOW_SAFE_PACKAGES = ['@temporalio/workflow', '@temporalio/common'];

const typeOnly = (node, kindKey, specifierKey) =>
  node[kindKey] === 'type' || (node.specifiers?.length > 0 && node.specifiers.every((s) => s[specifierKey] === 'type'));

/** @type {import('eslint').Rule.RuleModule} */
export const workflowSafeImports = {
  meta: {
    type: 'problem',
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, required: ['root'] }],
    messages: {
      refused:
        'workflow-safe code imports values only from {{allowed}} and workflow-safe files ({{dirs}}); ' +
        "import '{{source}}' as types only",
    },
  },
  create(context) {
    const root = context.options[0].root;
    const safeFile = (source) => {
      const rel = path
        .relative(root, path.resolve(path.dirname(context.filename), source))
        .split(path.sep)
        .join('/');
      return isWorkflowSafe(rel);
    };
    const check = (node, source) => {
      const ok =
        typeof source === 'string' &&
        (source.startsWith('.') ? safeFile(source) : WORKFLOW_SAFE_PACKAGES.includes(source));
      if (!ok) {
        context.report({
          node,
          messageId: 'refused',
          data: {
            source: typeof source === 'string' ? source : '(computed)',
            allowed: WORKFLOW_SAFE_PACKAGES.join(', '),
            dirs: [...WORKFLOW_SAFE_DIRS.map((d) => `${d}/`), ...WORKFLOW_SAFE_FILES].join(', '),
          },
        });
      }
    };
    return {
      ImportDeclaration(node) {
        if (!typeOnly(node, 'importKind', 'importKind')) check(node, node.source.value);
      },
      ExportNamedDeclaration(node) {
        if (node.source && !typeOnly(node, 'exportKind', 'exportKind')) check(node, node.source.value);
      },
      ExportAllDeclaration(node) {
        if (node.exportKind !== 'type') check(node, node.source.value);
      },
      TSImportEqualsDeclaration(node) {
        if (node.importKind !== 'type' && node.moduleReference.type === 'TSExternalModuleReference') {
          check(node, node.moduleReference.expression.value);
        }
      },
      ImportExpression(node) {
        check(node, node.source.type === 'Literal' ? node.source.value : undefined);
      },
      'CallExpression[callee.type="Identifier"][callee.name="require"]'(node) {
        const [arg] = node.arguments;
        check(node, arg?.type === 'Literal' ? arg.value : undefined);
      },
    };
  },
};
