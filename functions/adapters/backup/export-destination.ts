import type { Writable } from 'node:stream';

/** Where exports are written: an S3 bucket or a local folder. Names are relative (the object key, or a path under the folder). */
export interface ExportDestination {
  open(name: string): Writable;
  writeText(name: string, text: string): Promise<void>;
  /** Where a name ends up, for people: s3://bucket/key or a file path. */
  locate(name: string): string;
}
