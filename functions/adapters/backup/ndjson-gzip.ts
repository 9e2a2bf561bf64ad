/**
 * The export file format: NDJSON compressed with gzip, with the sha256 of the compressed bytes computed on the
 * way through. Streams both ways: memory holds one chunk, never the file.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip, createGzip } from 'node:zlib';

export interface WrittenExport {
  rows: number;
  sha256: string;
  bytes: number;
}

/** Compresses the lines (one row each) into the sink. */
export async function writeCompressed(lines: AsyncIterable<string>, sink: Writable): Promise<WrittenExport> {
  let rows = 0;
  async function* withNewlines(): AsyncGenerator<string> {
    for await (const line of lines) {
      rows++;
      yield `${line}\n`;
    }
  }
  const tap = hashingTap();
  try {
    await pipeline(Readable.from(withNewlines()), createGzip(), tap.stream, sink);
  } catch (error) {
    // pipeline rejects as soon as a stream fails; the sink's clean-up (an S3 upload's abort) ends with its close.
    if (!sink.closed) await new Promise((resolve) => sink.once('close', resolve));
    throw error;
  }
  return { rows, ...tap.result() };
}

export interface ReadExport {
  lines: AsyncIterable<string>;
  /** Once lines has been read to its end: the sha256 of the compressed bytes read and the rows. */
  verified(): { sha256: string; rows: number };
}

/** The export's bytes are not a whole gzip stream: truncated or damaged. */
export class DamagedExportError extends Error {
  override readonly name = 'DamagedExportError';
}

/**
 * Decompresses a stream of export bytes into its lines. A damaged or truncated gzip stream fails the iteration
 * with a DamagedExportError, whenever it is found: the decompression runs ahead of the reader, so its error is
 * kept until the reader gets there (never an unhandled 'error' event).
 */
export function readCompressed(source: Readable): ReadExport {
  const tap = hashingTap();
  const gunzip = createGunzip();
  let failure: unknown;
  // zlib's errors (codes Z_…) say the bytes are not gzip; the source's own (a file or S3 read) pass as they are.
  const describeFailure = (error: unknown) =>
    String((error as NodeJS.ErrnoException | undefined)?.code ?? '').startsWith('Z_')
      ? new DamagedExportError(`not a complete gzip stream (${(error as Error).message}): the export is truncated or damaged`)
      : error;
  gunzip.on('error', (error) => {
    failure ??= error;
  });
  const piping = pipeline(source, tap.stream, gunzip).catch((error: unknown) => {
    failure ??= error;
    gunzip.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  let rows = 0;
  async function* lines(): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        const text = rest + decoder.write(chunk);
        const parts = text.split('\n');
        rest = parts.pop()!;
        for (const part of parts) {
          rows++;
          yield part;
        }
      }
    } catch (error) {
      throw describeFailure(failure ?? error);
    }
    await piping;
    if (failure !== undefined) throw describeFailure(failure);
    rest += decoder.end();
    if (rest.length > 0) {
      rows++;
      yield rest;
    }
  }
  return {
    lines: lines(),
    verified: () => ({ sha256: tap.result().sha256, rows }),
  };
}

function hashingTap(): { stream: Transform; result(): { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return {
    stream,
    result: () => ({ sha256: (digest ??= hash.digest('hex')), bytes }),
  };
}
