import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The project's shared material (Ogmios schema and vectors, real chain fixtures) sits beside the repository
 * as ../shared, in development and in CI alike. Tests that need it fail loudly when it is missing rather
 * than skipping: a skipped conformance check proves nothing.
 */
export const SHARED_DIR = process.env.SHARED_DIR ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
export const CHAIN_FIXTURES_DIR = `${SHARED_DIR}chain-fixtures`;
export const OGMIOS_DIR = `${SHARED_DIR}ogmios`;

export function requireShared(path: string): string {
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: the shared folder must sit beside the repository (or set SHARED_DIR)`);
  }
  return path;
}
