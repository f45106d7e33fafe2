// SPDX-License-Identifier: MIT
// ESLint for the client: @eslint/js and typescript-eslint's recommended rules, on the sources,
// the tests and the Vite plugin. Run with `npm run lint` (and by ctest as client_lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ['**/*.ts'],
        rules: {
            // Protocol codes live in src/protocol.ts; an unused variable is a mistake, but a
            // leading underscore marks one kept on purpose.
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
            eqeqeq: ['error', 'always', { null: 'ignore' }],
            'no-var': 'error',
            'prefer-const': 'error',
        },
    },
    {
        // The protocol's codes and names are spelt once, in src/protocol.ts.
        files: ['src/**/*.ts'],
        ignores: ['src/protocol.ts'],
        rules: {
            'no-restricted-syntax': [
                'error',
                {
                    selector: "UnaryExpression[operator='-'] > Literal[value>=32000][value<=32800]",
                    message: 'A JSON-RPC error code: use ErrorCode from ./protocol.js.',
                },
                {
                    selector:
                        "CallExpression[callee.property.name=/^(request|call|notify)$/] > Literal.arguments:first-child",
                    message: 'A method or notification name: use Method or Notification from ./protocol.js.',
                },
                {
                    selector: "BinaryExpression[operator='==='] > Literal[value=/^(progress|batchItem|batchFrame)$/]",
                    message: 'A notification name: use Notification from ./protocol.js.',
                },
            ],
        },
    },
    {
        files: ['**/*.js', '**/*.mjs'],
        languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    },
);
