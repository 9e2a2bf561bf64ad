/**
 * `restore <export>`: an export (its .ndjson.gz or its .manifest.json, a file or an s3:// URI) into the
 * configured database, which must hold no row of that table. All or nothing (see table-restore.ts). The money
 * tables only with `forensic` (see restoreRefusal in domain/backup.ts).
 */
import { createReadStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { exportFileNames, parseManifest, InvalidBackupRequestError } from '../../domain/backup.js';
import { readCompressed } from '../../adapters/backup/ndjson-gzip.js';
import { getObjectStream, getText, parseS3Uri } from '../../adapters/s3/backup-objects.js';
import { restoreTable } from '../../adapters/postgres/table-restore.js';

export async function restoreExport(
  source: string,
  { pool, s3, actor, forensic = false }: { pool: pg.Pool; s3: () => Pick<S3Client, 'send'>; actor: string; forensic?: boolean },
): Promise<{ table: string; rows: number; source: string }> {
  const uri = parseS3Uri(source);
  const names = exportFileNames(uri ? uri.key : source);
  let manifestText: string;
  let open: () => Promise<Readable>;
  let description: string;
  if (uri) {
    const client = s3();
    description = `s3://${uri.bucket}/${names.data}`;
    manifestText = await getText(client, uri.bucket, names.manifest).catch((error: unknown) => {
      throw new InvalidBackupRequestError(`no manifest at s3://${uri.bucket}/${names.manifest} (${error instanceof Error ? error.name : String(error)}): an export without one is incomplete`);
    });
    open = () => getObjectStream(client, uri.bucket, names.data);
  } else {
    description = names.data;
    manifestText = await readFile(names.manifest, 'utf8').catch(() => {
      throw new InvalidBackupRequestError(`no manifest at ${names.manifest}: an export without one is incomplete`);
    });
    await access(names.data).catch(() => {
      throw new InvalidBackupRequestError(`no data file at ${names.data}`);
    });
    open = async () => createReadStream(names.data);
  }
  const manifest = parseManifest(manifestText, names.manifest);
  const stream = await open();
  const read = readCompressed(stream);
  try {
    const { rows } = await restoreTable(pool, manifest, { lines: read.lines, verified: read.verified, description }, actor, { forensic });
    return { table: manifest.table, rows, source: description };
  } finally {
    stream.destroy(); // a refused restore may not have read it to the end
  }
}
