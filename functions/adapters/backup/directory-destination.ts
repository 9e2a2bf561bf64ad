import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { ExportDestination } from './export-destination.js';

/** Exports into a local folder, under the same relative names as the S3 keys. */
export function directoryDestination(directory: string): ExportDestination {
  const locate = (name: string) => path.resolve(directory, name);
  return {
    open(name) {
      mkdirSync(path.dirname(locate(name)), { recursive: true });
      return createWriteStream(locate(name), { flags: 'wx' }) as Writable;
    },
    async writeText(name, text) {
      await mkdir(path.dirname(locate(name)), { recursive: true });
      await writeFile(locate(name), text, { flag: 'wx' });
    },
    locate,
  };
}
