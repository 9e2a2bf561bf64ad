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

/** Decompresses a stream of export bytes into its lines. A damaged gzip stream fails the iteration. */
export function readCompressed(source: Readable): ReadExport {
  const tap = hashingTap();
  const gunzip = createGunzip();
  const piping = pipeline(source, tap.stream, gunzip).catch((error: unknown) => {
    gunzip.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  let rows = 0;
  async function* lines(): AsyncGenerator<string> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const text = rest + decoder.write(chunk);
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const part of parts) {
        rows++;
        yield part;
      }
    }
    rest += decoder.end();
    if (rest.length > 0) {
      rows++;
      yield rest;
    }
    await piping;
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
