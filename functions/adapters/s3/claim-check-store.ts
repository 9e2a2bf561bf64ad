/**
 * The claim check for messages too large for SQS: the message goes to S3 under a content-addressed key and the
 * queue carries a pointer with the object's SHA-256 and size, which the reader verifies before trusting a byte.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CLAIM_CHECK_KEY_PREFIX, type ClaimCheckPointer } from '../../domain/chain-event-message.js';

export interface ClaimCheckWriter {
  /** Stores a message body; resolves once S3 holds it durably. */
  put(body: string): Promise<ClaimCheckPointer>;
}

export interface ClaimCheckReader {
  /** The stored body, verified against the pointer's size and SHA-256. */
  fetch(pointer: ClaimCheckPointer): Promise<string>;
}

/** A pointer that cannot be honoured: wrong bucket, missing object, or content that is not what was stored. */
export class ClaimCheckIntegrityError extends Error {
  override readonly name = 'ClaimCheckIntegrityError';
  constructor(
    readonly pointer: ClaimCheckPointer,
    reason: string,
  ) {
    super(`Claim check s3://${pointer.bucket}/${pointer.key}: ${reason}`);
  }
}

export interface S3ClaimCheckStoreOptions {
  s3: Pick<S3Client, 'send'>;
  bucket: string;
  /** Keys are `<prefix><sha256>.json`. */
  keyPrefix?: string;
  /** SSE-KMS with this key; SSE-S3 (AES256) when absent. */
  kmsKeyId?: string;
  /** A pointer claiming more than this is refused before anything is downloaded. */
  maxBytes?: number;
}

/** Far above any real message (a block is at most 90 KB of CBOR); a guard against a forged pointer exhausting memory. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export class S3ClaimCheckStore implements ClaimCheckWriter, ClaimCheckReader {
  private readonly keyPrefix: string;
  private readonly maxBytes: number;

  constructor(private readonly options: S3ClaimCheckStoreOptions) {
    this.keyPrefix = options.keyPrefix ?? CLAIM_CHECK_KEY_PREFIX;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  async put(body: string): Promise<ClaimCheckPointer> {
    const bytes = Buffer.from(body, 'utf8');
    const digest = createHash('sha256').update(bytes).digest();
    const sha256 = digest.toString('hex');
    // Content-addressed: storing the same message again (a retried emission) rewrites identical bytes, and two
    // different messages can never overwrite each other's object while a pointer to it is still queued.
    const key = `${this.keyPrefix}${sha256}.json`;
    await this.options.s3.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: key,
        Body: bytes,
        ContentType: 'application/json',
        // S3 refuses the upload if the bytes it received do not have this digest.
        ChecksumSHA256: digest.toString('base64'),
        ...(this.options.kmsKeyId
          ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.options.kmsKeyId }
          : { ServerSideEncryption: 'AES256' }),
      }),
    );
    return { bucket: this.options.bucket, key, sha256, bytes: bytes.length };
  }

  async fetch(pointer: ClaimCheckPointer): Promise<string> {
    // The function's role can only read its own bucket anyway; refusing here makes a forged pointer a clear
    // poison message instead of an access-denied error retried until the DLQ.
    if (pointer.bucket !== this.options.bucket) {
      throw new ClaimCheckIntegrityError(pointer, `points outside the claim-check bucket ${this.options.bucket}`);
    }
    if (pointer.bytes > this.maxBytes)
      throw new ClaimCheckIntegrityError(pointer, `claims ${pointer.bytes} bytes, more than the ${this.maxBytes} allowed`);

    const bytes = await this.download(pointer);
    if (bytes.length !== pointer.bytes)
      throw new ClaimCheckIntegrityError(pointer, `holds ${bytes.length} bytes, the pointer says ${pointer.bytes}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== pointer.sha256)
      throw new ClaimCheckIntegrityError(pointer, `content has SHA-256 ${sha256}, the pointer says ${pointer.sha256}`);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }

  private async download(pointer: ClaimCheckPointer): Promise<Uint8Array> {
    try {
      const response = await this.options.s3.send(new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));
      if (!response.Body) throw new ClaimCheckIntegrityError(pointer, 'S3 returned no body');
      return await response.Body.transformToByteArray();
    } catch (error) {
      // A missing object never comes back (S3 is strongly consistent): that is a poison message, not an outage.
      if (error instanceof Error && error.name === 'NoSuchKey') throw new ClaimCheckIntegrityError(pointer, 'the object does not exist');
      throw error;
    }
  }
}
