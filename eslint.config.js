// Flat config: typed lint for floating promises, plus the layering rules of DESIGN.md §3:
// src/core and src/runtime are pure (no node:*, no process, no clocks); adapters do all I/O.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const pureBans = {
  'no-restricted-imports': [
    'error',
    {
      patterns: [
        { group: ['node:*', 'fs', 'path', 'os', 'http', 'https', 'child_process', 'undici', 'better-sqlite3', 'koffi', 'net-snmp'], message: 'src/core and src/runtime are pure: do I/O in src/adapters behind a port.' },
        { group: ['**/adapters/**', '**/cli/**', '**/engines/**', '**/dashboard/**'], message: 'dependencies point inward: core and runtime must not import adapters, engines or the CLI.' },
      ],
    },
  ],
  'no-restricted-globals': ['error', { name: 'process', message: 'pass what you need in as data or through a port' }],
  'no-restricted-properties': [
    'error',
    { object: 'Date', property: 'now', message: 'use the Clock port' },
    { object: 'performance', property: 'now', message: 'use the Clock port' },
  ],
  'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'use the Clock port' }],
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'tokenwatt-runs/**', '**/*.d.ts', 'docs/**', '.cache/**', 'tmp/**', '.scratch*', '**/.scratch*', 'stubs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-redundant-type-constituents': 'off',
    },
  },
  { files: ['src/core/**/*.ts', 'src/runtime/**/*.ts'], rules: pureBans },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' } },
  },
  { files: ['test/**/*.ts', 'bench/**/*.ts', 'testkit/**/*.ts'], rules: { '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }] } },
)
