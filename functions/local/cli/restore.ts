/**
 * `restore <export>`: an export (its .ndjson.gz or its .manifest.json, a file or an s3:// URI) into the
 * configured database, which must hold no row of that table; the files the manifest names are read beside it. All
 * or nothing (see table-restore.ts). The money tables only with `forensic` (see restoreRefusal in domain/backup.ts).
 */
import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { exportFileNames, parseManifest, InvalidBackupRequestError } from '../../domain/backup.js';
import { DamagedExportError, readCompressed } from '../../adapters/backup/ndjson-gzip.js';
import { getObjectStream, getText, parseS3Uri } from '../../adapters/s3/backup-objects.js';
import { RestoreRefusedError, restoreTable, type RestoreSource } from '../../adapters/postgres/table-restore.js';

export async function restoreExport(
  source: string,
  { pool, s3, actor, forensic = false }: { pool: pg.Pool; s3: () => Pick<S3Client, 'send'>; actor: string; forensic?: boolean },
): Promise<{ table: string; rows: number; source: string; heldByRebuildRows: number | null }> {
  const uri = parseS3Uri(source);
  const names = exportFileNames(uri ? uri.key : source);
  let manifestText: string;
  /** Opens a file of the export, named as the manifest names it (beside the manifest). */
  let open: (fileName: string) => Promise<{ stream: Readable; description: string }>;
  if (uri) {
    const client = s3();
    manifestText = await getText(client, uri.bucket, names.manifest).catch((error: unknown) => {
      throw new InvalidBackupRequestError(
        `no manifest at s3://${uri.bucket}/${names.manifest} (${error instanceof Error ? error.name : String(error)}): an export without one is incomplete`,
      );
    });
    const folder = names.manifest.slice(0, names.manifest.lastIndexOf('/') + 1);
    open = async (fileName) => ({
      stream: await getObjectStream(client, uri.bucket, `${folder}${fileName}`),
      description: `s3://${uri.bucket}/${folder}${fileName}`,
    });
  } else {
    manifestText = await readFile(names.manifest, 'utf8').catch(() => {
      throw new InvalidBackupRequestError(`no manifest at ${names.manifest}: an export without one is incomplete`);
    });
    open = async (fileName) => {
      const file = path.join(path.dirname(names.manifest), fileName);
      await access(file).catch(() => {
        throw new InvalidBackupRequestError(`no data file at ${file}`);
      });
      return { stream: createReadStream(file), description: file };
    };
  }
  const manifest = parseManifest(manifestText, names.manifest);
  const opened: Readable[] = [];
  const restoreSource = async (fileName: string): Promise<RestoreSource> => {
    const { stream, description } = await open(fileName);
    opened.push(stream);
    const read = readCompressed(stream);
    return { lines: namingTheFile(read.lines, description), verified: read.verified, description };
  };
  try {
    const data = await restoreSource(path.basename(names.data));
    const heldByRebuild = manifest.held_by_rebuild ? await restoreSource(manifest.held_by_rebuild.data_file) : undefined;
    const { rows, heldByRebuildRows } = await restoreTable(pool, manifest, { data, heldByRebuild }, actor, { forensic });
    return { table: manifest.table, rows, source: data.description, heldByRebuildRows };
  } finally {
    for (const stream of opened) stream.destroy(); // a refused restore may not have read them to the end
  }
}

/** A truncated or damaged file fails the restore (its transaction: nothing is written) with its name and why. */
async function* namingTheFile(lines: AsyncIterable<string>, description: string): AsyncGenerator<string> {
  try {
    yield* lines;
  } catch (error) {
    if (error instanceof DamagedExportError) throw new RestoreRefusedError(`${description}: ${error.message}; nothing was restored`);
    throw error;
  }
}
