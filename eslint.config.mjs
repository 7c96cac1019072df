// Lint rules from Temporal's samples: promises are awaited or explicitly voided, and workflow
// code (which must replay deterministically) imports no Node built-ins.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const WORKER_SIDE = ['activities', 'src', 'worker', 'cli', 'dev', 'test', 'bench'];

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
    // Workflow code and what it may import: deterministic, so no Node built-ins, and the
    // worker-side folders (activities, src, worker, cli, dev) as types only.
    files: ['workflows/**/*.ts', 'common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
          patterns: [
            {
              regex: `^(\\.\\./)+(${WORKER_SIDE.join('|')})(/|$)`,
              allowTypeImports: true,
              message: 'workflow-safe code imports worker-side code as types only',
            },
          ],
        },
      ],
    },
  },
);
