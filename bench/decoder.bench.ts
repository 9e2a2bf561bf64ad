/**
 * npx tsx bench/decoder.bench.ts — Ogmios block decoding throughput on every real fixture block.
 *
 * Each fixture block is wrapped in a `nextBlock` RollForward message (as it arrives on the socket) and decoded
 * ROUNDS times. Printed for comparison: plain JSON.parse (the floor: it loses big integers and builds
 * prototype-bearing objects), the lossless parser alone, the reference decoder on already-parsed values and on
 * the full text → ChainEvent path, and the fast schema-directed decoder (fast-block-decoder.ts) on text and on
 * UTF-8 bytes (what the WebSocket delivers), with its speed-up over the reference. Sets: all fixture blocks,
 * the mainnet Babbage/Conway blocks (what the follower sees today, ~53 KB each), the largest blocks, and one
 * synthetic ~1 MB block.
 *
 * The reference and fast decoders are timed in alternating rounds and compared on their median round, so that
 * load from other processes affects both alike.
 *
 * Options (environment): BENCH_ROUNDS (minimum rounds, default 10), BENCH_MIN_SECONDS (minimum time per
 * measurement, default 1), BENCH_LARGEST (how many of the largest blocks, default 20).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { decodeBlock, decodeNextBlockResponse } from '../functions/domain/ogmios/block-decoder.js';
import { decodeNextBlockResponseFast } from '../functions/domain/ogmios/fast-block-decoder.js';
import { parseLosslessJson } from '../functions/domain/ogmios/lossless-json.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const LARGEST = Number(process.env.BENCH_LARGEST ?? 20);
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS ?? 1);
const FIXTURES = fileURLToPath(new URL('../../shared/chain-fixtures/', import.meta.url));
const SYNTHETIC_TARGET_BYTES = 1_000_000;

interface FixtureEntry {
  file: string;
  network: string;
  era: string;
  type: string;
  jsonBytes: number;
}

function nextBlockMessage(blockText: string): string {
  const tip = '{"slot":181871994,"id":"0000000000000000000000000000000000000000000000000000000000000000","height":13155289}';
  return `{"jsonrpc":"2.0","method":"nextBlock","result":{"direction":"forward","block":${blockText},"tip":${tip}},"id":null}`;
}

/**
 * One praos block of about 1 MB: the largest fixture with the transactions of the next largest appended.
 * In these files `transactions` is the block's last key, so its array closes right before the final `}`.
 */
function syntheticLargeBlock(blockTexts: readonly string[]): { text: string; transactions: number } {
  const marker = '"transactions":[';
  const [base, ...others] = blockTexts;
  if (base === undefined) throw new Error('no fixture blocks');
  let text = base;
  for (const other of others) {
    if (text.length >= SYNTHETIC_TARGET_BYTES) break;
    const start = other.indexOf(marker);
    if (start === -1 || !other.endsWith(']}') || other.endsWith('[]}')) continue;
    text = `${text.slice(0, -2)},${other.slice(start + marker.length, -2)}]}`;
  }
  return { text, transactions: decodeBlock(text).transactions.length };
}

interface Measurement {
  seconds: number;
  blocksPerSecond: number;
  megabytesPerSecond: number;
}

/** Runs at least ROUNDS rounds and at least MIN_SECONDS, so that small sets are not timed on a few milliseconds. */
function measure(messages: readonly string[], work: (message: string, index: number) => unknown): Measurement {
  return measureAlternately(messages, [work])[0] as Measurement;
}

/**
 * Times several ways of decoding the same messages in alternating rounds (each round runs every way once over
 * all messages) and reports each by its median round: a burst of load from another process then lands on one
 * round of each rather than on one whole measurement.
 */
function measureAlternately<M>(messages: readonly M[], works: readonly ((message: M, index: number) => unknown)[]): Measurement[] {
  const bytes = messages.reduce((total, message) => total + byteLength(message), 0);
  for (let warmup = 0; warmup < 2; warmup++) for (const work of works) messages.forEach(work);
  const rounds: number[][] = works.map(() => []);
  const started = process.hrtime.bigint();
  while ((rounds[0] as number[]).length < ROUNDS || Number(process.hrtime.bigint() - started) / 1e9 < MIN_SECONDS * works.length) {
    works.forEach((work, position) => {
      const roundStarted = process.hrtime.bigint();
      messages.forEach(work);
      (rounds[position] as number[]).push(Number(process.hrtime.bigint() - roundStarted) / 1e9);
    });
  }
  return rounds.map((times) => {
    const seconds = [...times].sort((left, right) => left - right)[times.length >> 1] as number;
    return { seconds, blocksPerSecond: messages.length / seconds, megabytesPerSecond: bytes / 1e6 / seconds };
  });
}

function byteLength(message: unknown): number {
  return typeof message === 'string' ? Buffer.byteLength(message) : (message as Uint8Array).byteLength;
}

function report(title: string, messages: readonly string[]): void {
  // A fast decoder that got something wrong would be measured for nothing.
  for (const message of messages) {
    if (!isDeepStrictEqual(decodeNextBlockResponseFast(message), decodeNextBlockResponse(message)))
      throw new Error(`${title}: the decoders disagree`);
  }
  const baseline = measure(messages, (message) => JSON.parse(message));
  const lossless = measure(messages, (message) => parseLosslessJson(message));
  const [full, fast] = measureAlternately(messages, [
    (message) => decodeNextBlockResponse(message),
    (message) => decodeNextBlockResponseFast(message),
  ]) as [Measurement, Measurement];
  const bytes = messages.map((message) => new Uint8Array(Buffer.from(message, 'utf8')));
  const [fullBytes, fastBytes] = measureAlternately(bytes, [
    (message) => decodeNextBlockResponse(message),
    (message) => decodeNextBlockResponseFast(message),
  ]) as [Measurement, Measurement];
  // Last, because holding every parsed message makes the heap (and so garbage collection) much larger.
  const parsed = messages.map((message) => parseLosslessJson(message));
  const decodeOnly = measure(messages, (_message, index) => decodeNextBlockResponse(parsed[index]));
  const megabytes = messages.reduce((total, message) => total + Buffer.byteLength(message), 0) / 1e6;
  console.log(
    `\n${title}: ${messages.length} messages, ${megabytes.toFixed(2)} MB per round (${((megabytes * 1e3) / messages.length).toFixed(1)} KB per message)`,
  );
  const row = (name: string, result: Measurement, note = ''): void => {
    console.log(
      `  ${name.padEnd(40)} ${result.blocksPerSecond.toFixed(0).padStart(9)} blocks/s ${result.megabytesPerSecond.toFixed(1).padStart(7)} MB/s${note}`,
    );
  };
  const timesJsonParse = (result: Measurement): string => `  ${(result.seconds / baseline.seconds).toFixed(2)}× JSON.parse time`;
  const speedUp = (result: Measurement, reference: Measurement): string =>
    `  ${(reference.seconds / result.seconds).toFixed(2)}× faster than the reference`;
  row('JSON.parse (baseline, lossy)', baseline);
  row('parseLosslessJson', lossless, timesJsonParse(lossless));
  row('decode parsed value only', decodeOnly);
  row('decodeNextBlockResponse(text)', full, timesJsonParse(full));
  row('decodeNextBlockResponseFast(text)', fast, `${timesJsonParse(fast)}${speedUp(fast, full)}`);
  row('decodeNextBlockResponse(UTF-8 bytes)', fullBytes);
  row('decodeNextBlockResponseFast(UTF-8 bytes)', fastBytes, speedUp(fastBytes, fullBytes));
}

const index = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as { blocks: FixtureEntry[] };
const blockTexts = index.blocks.map((entry) => readFileSync(`${FIXTURES}${entry.file}`, 'utf8').trimEnd());
const messages = blockTexts.map(nextBlockMessage);
const bySize = index.blocks
  .map((entry, position) => ({ entry, text: blockTexts[position] as string }))
  .sort((left, right) => right.entry.jsonBytes - left.entry.jsonBytes);

console.log(`Node ${process.version}`);
report('All fixture blocks', messages);
report(
  'Mainnet Babbage/Conway blocks (mainnet-like)',
  index.blocks.flatMap((entry, position) =>
    entry.network === 'mainnet' && (entry.era === 'babbage' || entry.era === 'conway') ? [messages[position] as string] : [],
  ),
);
report(
  `Largest ${LARGEST} blocks`,
  bySize.slice(0, LARGEST).map(({ text }) => nextBlockMessage(text)),
);
const synthetic = syntheticLargeBlock(bySize.filter(({ entry }) => entry.type === 'praos').map(({ text }) => text));
report(`Synthetic block (${synthetic.transactions} transactions)`, [nextBlockMessage(synthetic.text)]);
