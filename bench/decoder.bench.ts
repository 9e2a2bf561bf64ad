/**
 * npx tsx bench/decoder.bench.ts — Ogmios block decoding throughput on every real fixture block.
 *
 * Each fixture block is wrapped in a `nextBlock` RollForward message (as it arrives on the socket) and decoded
 * ROUNDS times. Printed for comparison: plain JSON.parse (the floor: it loses big integers and builds
 * prototype-bearing objects), the lossless parser alone, the decoder on already-parsed values, and the full
 * text → ChainEvent path. Then the same for the largest blocks and for one synthetic ~1 MB block.
 *
 * Options (environment): BENCH_ROUNDS (minimum rounds, default 10), BENCH_MIN_SECONDS (minimum time per
 * measurement, default 1), BENCH_LARGEST (how many of the largest blocks, default 20).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeBlock, decodeNextBlockResponse } from '../functions/domain/ogmios/block-decoder.js';
import { parseLosslessJson } from '../functions/domain/ogmios/lossless-json.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const LARGEST = Number(process.env.BENCH_LARGEST ?? 20);
const MIN_SECONDS = Number(process.env.BENCH_MIN_SECONDS ?? 1);
const FIXTURES = fileURLToPath(new URL('../../shared/chain-fixtures/', import.meta.url));
const SYNTHETIC_TARGET_BYTES = 1_000_000;

interface FixtureEntry {
  file: string;
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
  const bytes = messages.reduce((total, message) => total + Buffer.byteLength(message), 0);
  for (let warmup = 0; warmup < 2; warmup++) messages.forEach(work);
  const started = process.hrtime.bigint();
  let rounds = 0;
  let seconds = 0;
  while (rounds < ROUNDS || seconds < MIN_SECONDS) {
    messages.forEach(work);
    rounds++;
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return {
    seconds: seconds / rounds,
    blocksPerSecond: (messages.length * rounds) / seconds,
    megabytesPerSecond: (bytes * rounds) / 1e6 / seconds,
  };
}

function report(title: string, messages: readonly string[]): void {
  const baseline = measure(messages, (message) => JSON.parse(message));
  const lossless = measure(messages, (message) => parseLosslessJson(message));
  const full = measure(messages, (message) => decodeNextBlockResponse(message));
  // Last, because holding every parsed message makes the heap (and so garbage collection) much larger.
  const parsed = messages.map((message) => parseLosslessJson(message));
  const decodeOnly = measure(messages, (_message, index) => decodeNextBlockResponse(parsed[index]));
  const megabytes = messages.reduce((total, message) => total + Buffer.byteLength(message), 0) / 1e6;
  console.log(`\n${title}: ${messages.length} messages, ${megabytes.toFixed(2)} MB per round`);
  const row = (name: string, result: Measurement, ratioTo?: Measurement): void => {
    const ratio = ratioTo ? `  ${(result.seconds / ratioTo.seconds).toFixed(2)}× JSON.parse time` : '';
    console.log(
      `  ${name.padEnd(34)} ${result.blocksPerSecond.toFixed(0).padStart(9)} blocks/s ${result.megabytesPerSecond.toFixed(1).padStart(7)} MB/s${ratio}`,
    );
  };
  row('JSON.parse (baseline, lossy)', baseline);
  row('parseLosslessJson', lossless, baseline);
  row('decode parsed value only', decodeOnly);
  row('decodeNextBlockResponse(text)', full, baseline);
}

const index = JSON.parse(readFileSync(`${FIXTURES}index.json`, 'utf8')) as { blocks: FixtureEntry[] };
const blockTexts = index.blocks.map((entry) => readFileSync(`${FIXTURES}${entry.file}`, 'utf8').trimEnd());
const messages = blockTexts.map(nextBlockMessage);
const bySize = index.blocks
  .map((entry, position) => ({ entry, text: blockTexts[position] as string }))
  .sort((left, right) => right.entry.jsonBytes - left.entry.jsonBytes);

console.log(`Node ${process.version}`);
report('All fixture blocks', messages);
report(`Largest ${LARGEST} blocks`, bySize.slice(0, LARGEST).map(({ text }) => nextBlockMessage(text)));
const synthetic = syntheticLargeBlock(bySize.filter(({ entry }) => entry.type === 'praos').map(({ text }) => text));
report(`Synthetic block (${synthetic.transactions} transactions)`, [nextBlockMessage(synthetic.text)]);
