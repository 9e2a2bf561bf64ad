/**
 * The benchmark's chain, in a process of its own (so that the reconciliation's memory is measured alone): an
 * Ogmios simulator whose ledger holds one UTxO for every `every`-th of `addresses` synthetic addresses, then the
 * UTxOs of the heavy addresses in BENCH_HEAVY (JSON: [{ "seed": …, "outputs": n }], none by default). Writes the
 * payments (with their blocks) as JSON lines to `paymentsFile`, then prints one JSON line: { url, tip }.
 */
import { createWriteStream } from 'node:fs';
import { startOgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

const addresses = Number(process.env.BENCH_ADDRESSES ?? 1_000_000);
const every = Number(process.env.BENCH_PAID_EVERY ?? 10);
const heavy = JSON.parse(process.env.BENCH_HEAVY ?? '[]') as { seed: string; outputs: number }[];
const paymentsFile = process.env.BENCH_PAYMENTS_FILE ?? '.data/bench-reconcile-payments.ndjson';
// Each queued payment's draft walks the payments queued before it: small blocks keep the chain's making linear.
const PAYMENTS_PER_BLOCK = 500;

const simulator = await startOgmiosSimulator({
  network: 'mainnet',
  transactionsPerBlock: { min: 0, max: 0 },
  paymentSpendsPerBlock: 0,
  retainedBlocks: 1_000,
  seed: 'bench-reconcile',
});
const out = createWriteStream(paymentsFile);
let queued = 0;
const flush = () => {
  for (const block of simulator.produceBlocks(1)) {
    for (const payment of block.payments) {
      out.write(
        `${JSON.stringify({ tx: payment.txId, index: payment.index, address: payment.address, lovelace: payment.lovelace.toString(), height: block.height, slot: block.slot, hash: block.id })}\n`,
      );
    }
  }
};
const pay = (address: string, lovelace: bigint) => {
  simulator.queuePayment({ address, lovelace });
  if (++queued % PAYMENTS_PER_BLOCK === 0) flush();
};
for (let i = 0; i < addresses; i += every) pay(syntheticAddress('mainnet', i), 1_000_000n + BigInt(i));
for (const { seed, outputs } of heavy) for (let i = 0; i < outputs; i++) pay(syntheticAddress('mainnet', seed), 1_000_000n + BigInt(i));
flush();
await new Promise<void>((resolve) => out.end(resolve));
process.stdout.write(`${JSON.stringify({ url: simulator.url, tip: simulator.tip() })}\n`);
process.on('SIGTERM', () => void simulator.stop().then(() => process.exit(0)));
