// Lint rules from Temporal's samples: promises are awaited or explicitly voided, and workflow
// code (which must replay deterministically) imports values only from an allowlist. Ours:
// inventory vars are read with their declared types (lint/typed-vars.mjs).
import tseslint from 'typescript-eslint';
import { WORKFLOW_SAFE_GLOBS, workflowSafeImports } from './lint/workflow-safe-imports.mjs';
import { INVENTORY_MODULE, TYPED_VARS } from './lint/typed-vars.mjs';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'testbed/**', '**/*.mjs', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // Workflow code and what it may import: @temporalio/workflow, @temporalio/common and other
    // workflow-safe files; anything else (Node built-ins, activities, worker-side code) as types only.
    files: WORKFLOW_SAFE_GLOBS,
    plugins: { 'workflow-safe': { rules: { imports: workflowSafeImports } } },
    rules: { 'workflow-safe/imports': ['error', { root: import.meta.dirname }] },
  },
  {
    // Inventory vars are read with their declared types: no computed key, no cast (src/vars.ts).
    files: ['**/*.ts'],
    ignores: INVENTORY_MODULE,
    rules: { 'no-restricted-syntax': ['error', ...TYPED_VARS] },
  },
);
