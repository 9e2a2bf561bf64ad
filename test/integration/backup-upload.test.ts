/**
 * The streaming upload of an export to S3 (s3rver), as the backup export writes it (writeCompressed into the S3
 * destination): a multipart upload is either completed or aborted, never both; below one part it is a single PUT.
 * What the client sent is read from the requests s3rver received.
 */
import { randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCompressed, writeCompressed } from '../../functions/adapters/backup/ndjson-gzip.js';
import { getObjectStream, s3Destination } from '../../functions/adapters/s3/backup-objects.js';
import { startLocalS3, type LocalS3 } from '../support/local-aws.js';

const BUCKET = 'payment-monitor-upload-test';
const MIB = 1024 * 1024;

let s3: LocalS3;

beforeAll(async () => {
  s3 = await startLocalS3();
  await s3.createBucket(BUCKET);
});
afterAll(async () => {
  await s3.close();
});

const operationsOn = (key: string) => s3.requests.filter((request) => request.key === key).map((request) => request.operation);

/**
 * Export lines of random base64 (gzip barely shrinks them), about `compressedMiB` once compressed; the iteration
 * fails after `failAfterMiB` when given, as a database cursor that breaks mid-export.
 */
async function* randomLines(compressedMiB: number, failAfterMiB?: number): AsyncGenerator<string> {
  const lineBytes = 3 * 1024; // 4 KiB of base64 per line
  const lines = Math.ceil((compressedMiB * MIB) / lineBytes);
  for (let line = 0; line < lines; line++) {
    if (failAfterMiB !== undefined && line * lineBytes >= failAfterMiB * MIB) throw new Error('the database cursor failed');
    yield randomBytes(lineBytes).toString('base64');
  }
}

async function storedLines(key: string): Promise<string[]> {
  const read = readCompressed(await getObjectStream(s3.client, BUCKET, key));
  const lines: string[] = [];
  for await (const line of read.lines) lines.push(line);
  return lines;
}

describe('export upload to S3', () => {
  it('completes a multipart upload (more than one 8 MiB part) and does not abort it afterwards', async () => {
    const key = 'incoming_payments/2026/11/24/large.ndjson.gz';
    const lines: string[] = [];
    const written = await writeCompressed(
      (async function* () {
        for await (const line of randomLines(17)) {
          lines.push(line);
          yield line;
        }
      })(),
      s3Destination(s3.client, BUCKET).open(key),
    );
    expect(written.bytes).toBeGreaterThan(16 * MIB); // three parts: 8 MiB, 8 MiB and the rest

    expect(operationsOn(key)).toEqual(['CreateMultipartUpload', 'UploadPart', 'UploadPart', 'UploadPart', 'CompleteMultipartUpload']);
    expect(await storedLines(key)).toEqual(lines);
  });

  it('aborts a multipart upload whose source fails, and never completes it', async () => {
    const key = 'incoming_payments/2026/11/24/failed.ndjson.gz';
    await expect(writeCompressed(randomLines(12, 10), s3Destination(s3.client, BUCKET).open(key))).rejects.toThrow(
      'the database cursor failed',
    );

    // s3rver does not implement AbortMultipartUpload (it answers 405): the test checks that it was asked, which
    // is what the upload controls; no object exists either way, since the upload was never completed.
    expect(operationsOn(key)).toEqual(['CreateMultipartUpload', 'UploadPart', 'AbortMultipartUpload']);
    await expect(s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).rejects.toThrow(/does not exist/);
  });

  it('sends an export smaller than one part as a single PUT', async () => {
    const key = 'user_balances/2026/11/24/small.ndjson.gz';
    const lines = ['{"user_id":"user-1","balance_lovelace":"12345678901234567"}'];
    await writeCompressed(
      (async function* () {
        yield* lines;
      })(),
      s3Destination(s3.client, BUCKET).open(key),
    );

    expect(operationsOn(key)).toEqual(['PutObject']);
    expect(await storedLines(key)).toEqual(lines);
  });
});
