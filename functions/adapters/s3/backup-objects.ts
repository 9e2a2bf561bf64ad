/**
 * Export objects in S3: a streaming upload (multipart beyond one part, a single PUT below it) and the reads a
 * restore needs. Memory holds one part at most.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type Readable, Writable } from 'node:stream';
import type { ExportDestination } from '../backup/export-destination.js';

/** S3's minimum part size is 5 MiB; 8 MiB keeps the part count low for large exports. */
const PART_BYTES = 8 * 1024 * 1024;

export function s3UploadStream(s3: Pick<S3Client, 'send'>, bucket: string, key: string, contentType: string): Writable {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  /** Set once the multipart upload exists; cleared once it is completed, so that it is never also aborted. */
  let openUploadId: string | undefined;
  let multipart = false;
  /** The request in progress (creating the upload, a part, completing): destroy waits for it before aborting. */
  let inFlight: Promise<unknown> = Promise.resolve();
  const parts: { ETag: string; PartNumber: number }[] = [];

  const track = <T>(request: Promise<T>): Promise<T> => {
    inFlight = request.catch(() => undefined);
    return request;
  };
  const uploadPart = async (body: Buffer) => {
    if (!multipart) {
      multipart = true;
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
      openUploadId = created.UploadId;
      if (!openUploadId) throw new Error(`S3 returned no upload id for ${key}`);
    }
    const partNumber = parts.length + 1;
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: openUploadId, PartNumber: partNumber, Body: body }),
    );
    parts.push({ ETag: ETag!, PartNumber: partNumber });
  };
  const complete = async (lastPart: Buffer) => {
    if (lastPart.length > 0) await uploadPart(lastPart);
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: openUploadId, MultipartUpload: { Parts: parts } }),
    );
    openUploadId = undefined;
  };
  const takeBuffer = () => {
    const body = Buffer.concat(buffered, bufferedBytes);
    buffered = [];
    bufferedBytes = 0;
    return body;
  };

  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      buffered.push(chunk);
      bufferedBytes += chunk.length;
      if (bufferedBytes < PART_BYTES) return done();
      track(uploadPart(takeBuffer())).then(() => done(), done);
    },
    final(done) {
      const body = takeBuffer();
      const finish = multipart
        ? complete(body)
        : s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })).then(() => undefined);
      track(finish).then(() => done(), done);
    },
    // Runs after a failure and also after a successful finish (autoDestroy): only an upload still open is aborted.
    destroy(error, done) {
      inFlight
        .then(async () => {
          if (openUploadId === undefined) return;
          const uploadId = openUploadId;
          openUploadId = undefined;
          // An unfinished upload must not linger (and cost) in the bucket.
          await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
        })
        .then(
          () => done(error),
          () => done(error),
        );
    },
  });
}

export async function putText(s3: Pick<S3Client, 'send'>, bucket: string, key: string, text: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'application/json' }));
}

export async function getObjectStream(s3: Pick<S3Client, 'send'>, bucket: string, key: string): Promise<Readable> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Body as Readable;
}

export async function getText(s3: Pick<S3Client, 'send'>, bucket: string, key: string): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!Body) throw new Error(`s3://${bucket}/${key} has no body`);
  return Body.transformToString('utf8');
}

/** `s3://bucket/key` */
export function parseS3Uri(uri: string): { bucket: string; key: string } | null {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : null;
}

/** Exports into a bucket (see ExportDestination). */
export function s3Destination(s3: Pick<S3Client, 'send'>, bucket: string): ExportDestination {
  return {
    open: (key) => s3UploadStream(s3, bucket, key, 'application/gzip'),
    writeText: (key, text) => putText(s3, bucket, key, text),
    locate: (key) => `s3://${bucket}/${key}`,
  };
}
