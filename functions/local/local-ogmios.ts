/**
 * How local tools find Ogmios: OGMIOS_URL (with its keys) when set; otherwise the simulator of a running local
 * stack (`npm start`), whose address the stack writes to .data/local-ogmios.json while it runs.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { OgmiosEndpoints } from '../adapters/ogmios/endpoints.js';
import type { Environment } from '../config/environment.js';
import { readLocalOgmios } from '../config/local-settings.js';

export const LOCAL_OGMIOS_FILE = '.data/local-ogmios.json';

/** Written by the local stack when it starts its simulator; returns the function that removes it again. */
export function announceLocalOgmios(url: string, file = LOCAL_OGMIOS_FILE): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const announcement = JSON.stringify({ url, pid: process.pid });
  writeFileSync(file, announcement);
  // Only our own announcement is removed: another stack may have started since and announced itself.
  return () => {
    if (existsSync(file) && readFileSync(file, 'utf8') === announcement) rmSync(file, { force: true });
  };
}

export function findOgmios(env?: Environment, file = LOCAL_OGMIOS_FILE): OgmiosEndpoints {
  const configured = readLocalOgmios(env);
  if (configured) return configured;
  if (existsSync(file)) {
    const { url, pid } = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number };
    if (isRunning(pid)) return { urls: [url], apiKeys: [] };
  }
  throw new Error('No Ogmios to ask: set OGMIOS_URL, or start the local stack (npm start) whose simulator the CLI then uses');
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
