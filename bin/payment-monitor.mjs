#!/usr/bin/env node
// The operator CLI as a package bin: runs the TypeScript entry through tsx.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const entry = fileURLToPath(new URL('../functions/local/cli/main.ts', import.meta.url));
const result = spawnSync(process.execPath, ['--import', require.resolve('tsx'), entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
