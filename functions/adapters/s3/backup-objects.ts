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
import { Readable, Writable } from 'node:stream';
import type { ExportDestination } from '../backup/export-destination.js';

/** S3's minimum part size is 5 MiB; 8 MiB keeps the part count low for large exports. */
const PART_BYTES = 8 * 1024 * 1024;

export function s3UploadStream(s3: Pick<S3Client, 'send'>, bucket: string, key: string, contentType: string): Writable {
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let uploadId: string | undefined;
  const parts: { ETag: string; PartNumber: number }[] = [];

  const uploadPart = async (body: Buffer) => {
    if (uploadId === undefined) {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
      uploadId = created.UploadId;
      if (!uploadId) throw new Error(`S3 returned no upload id for ${key}`);
    }
    const partNumber = parts.length + 1;
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
    parts.push({ ETag: ETag!, PartNumber: partNumber });
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
      uploadPart(takeBuffer()).then(() => done(), done);
    },
    final(done) {
      const body = takeBuffer();
      const finish =
        uploadId === undefined
          ? s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType })).then(() => undefined)
          : (body.length > 0 ? uploadPart(body) : Promise.resolve()).then(() =>
              s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } })),
            );
      finish.then(() => done(), done);
    },
    destroy(error, done) {
      if (uploadId === undefined) return done(error);
      // An unfinished upload must not linger (and cost) in the bucket.
      s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).then(
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
