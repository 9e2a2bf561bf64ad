/**
 * npm run bench:payouts-build — one payout transaction for a batch of 100 approved payouts, from a hot wallet of
 * 500 unspent outputs, built with the CSL builder and signed with the local file signer (an Ed25519 key in a 0600
 * file, read at each signature; the signature verified before use, as the processor does), the witness attached to
 * the body bytes. No database, no network: the builder and the signer only.
 *
 * Three batches: 100 ADA payouts; 100 mixed ones (every fifth carries a token, from a wallet where every tenth
 * output holds tokens); 100 with three tokens each, too many for one transaction (the slow path: the longest prefix
 * that fits is searched for, the tail deferred). BENCH_RUNS timed runs of each (default 40) after BENCH_WARMUP (default 5); the figures are
 * the median (and p90) per batch, builds/s = 1 / median, payouts/s = payouts included per build × builds/s.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CslTransactionBuilder } from '../functions/adapters/cardano/csl-transaction-builder.js';
import { nodeSignatureVerifier } from '../functions/adapters/crypto/ed25519-keys.js';
import { FileTransactionSigner } from '../functions/adapters/crypto/file-signer.js';
import { enterpriseAddress } from '../functions/domain/address/enterprise-address.js';
import { encodeBech32 } from '../functions/domain/address/bech32.js';
import type { AssetQuantity } from '../functions/domain/chain.js';
import type { BuildRequest, PayoutOutput, SpendableOutput } from '../functions/domain/payouts/transaction-builder.js';
import { verifyingSigner, vkeyWitness } from '../functions/domain/payouts/transaction-signer.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const PAYOUTS = 100;
const OUTPUTS = 500;
const ADA = 1_000_000n;

const digest = (seed: string): Buffer => createHash('sha256').update(seed).digest();
const policies = ['gold', 'silver', 'bronze', 'points'].map((name) => digest(`policy ${name}`).toString('hex').slice(0, 56));
const token = (index: number, quantity: bigint): AssetQuantity => ({
  policyId: policies[index % policies.length] as string,
  assetName: Buffer.from(`TOKEN${index % 8}`).toString('hex'),
  quantity,
});

/** A preprod base address of a customer. */
function customer(index: number): string {
  return encodeBech32(
    'addr_test',
    Buffer.concat([Buffer.from([0x00]), digest(`pay ${index}`).subarray(0, 28), digest(`stake ${index}`).subarray(0, 28)]),
  );
}

const directory = await mkdtemp(path.join(tmpdir(), 'bench-payouts-'));
try {
  const signer = verifyingSigner(new FileTransactionSigner(path.join(directory, 'hot-wallet.key')), nodeSignatureVerifier);
  const hotWallet = enterpriseAddress(await signer.publicKey(), 'preprod');
  const builder = new CslTransactionBuilder();

  const available: SpendableOutput[] = Array.from({ length: OUTPUTS }, (_, index) => ({
    txId: digest(`funding ${index}`).toString('hex'),
    index: index % 3,
    address: hotWallet,
    lovelace: 20n * ADA + BigInt(index) * 137_000n,
    assets: index % 10 === 0 ? [token(index / 10, 1_000_000n), token(index / 10 + 1, 5_000n)] : [],
  }));
  // A batch too large for one transaction: each payout three tokens with 32-byte names under a policy of its own,
  // held by 100 of the outputs (the others as above); the tail that does not fit is deferred.
  const heavyTokens = (index: number): AssetQuantity[] =>
    ['A', 'B', 'C'].map((letter) => ({
      policyId: digest(`heavy ${index}`).toString('hex').slice(0, 56),
      assetName: Buffer.from(`${letter}${'x'.repeat(31)}`).toString('hex'),
      quantity: 1_000_000n,
    }));
  const heavyAvailable = available.map((output, index) => (index < PAYOUTS ? { ...output, assets: heavyTokens(index) } : output));
  const batches: Record<string, PayoutOutput[]> = {
    ada: Array.from({ length: PAYOUTS }, (_, index) => ({
      payoutId: `po_${index}`,
      address: customer(index),
      lovelace: 1n * ADA + BigInt(index) * 41_000n,
      assets: [],
    })),
    mixed: Array.from({ length: PAYOUTS }, (_, index) => ({
      payoutId: `po_${index}`,
      address: customer(index),
      lovelace: index % 5 === 0 ? 0n : 1n * ADA + BigInt(index) * 41_000n,
      assets: index % 5 === 0 ? [token(index, BigInt(1 + index))] : [],
    })),
    'too large': Array.from({ length: PAYOUTS }, (_, index) => ({
      payoutId: `po_${index}`,
      address: customer(index),
      lovelace: 2n * ADA,
      assets: heavyTokens(index).map((asset) => ({ ...asset, quantity: 1_000n })),
    })),
  };

  console.log(`node ${process.version}, ${RUNS} runs after ${WARMUP} warm-up, ${PAYOUTS} payouts from ${OUTPUTS} outputs each`);
  for (const [name, payouts] of Object.entries(batches)) {
    const request: BuildRequest = {
      payouts,
      available: name === 'too large' ? heavyAvailable : available,
      changeAddress: hotWallet,
      validUntilSlot: 90_000_000n,
      protocolParameters: {
        minFeeCoefficient: 44n,
        minFeeConstant: 155_381n,
        maxTransactionSize: 16_384,
        maxValueSize: 5000,
        minUtxoDepositCoefficient: 4310n,
      },
    };
    const total: number[] = [];
    const building: number[] = [];
    let included = 0;
    let summary = '';
    for (let run = 0; run < WARMUP + RUNS; run++) {
      const start = performance.now();
      const { built } = builder.build(request);
      const builtAt = performance.now();
      if (built === undefined) throw new Error('nothing built');
      const witness = await vkeyWitness(signer, Buffer.from(built.transactionId, 'hex'));
      const signed = builder.withWitnesses(built.bodyCbor, [witness]);
      const end = performance.now();
      if (run < WARMUP) continue;
      total.push(end - start);
      building.push(builtAt - start);
      included = built.included.length;
      summary = `${built.inputs.length} inputs, ${included} payouts, ${built.deferred.length} deferred, ${signed.length} bytes signed, fee ${built.fee}`;
    }
    const median = percentile(total, 0.5);
    const line =
      `${name}: ${summary}; build+sign p50 ${median.toFixed(1)} ms, p90 ${percentile(total, 0.9).toFixed(1)} ms ` +
      `(build alone p50 ${percentile(building, 0.5).toFixed(1)} ms) → ${(1000 / median).toFixed(1)} builds/s, ${((included * 1000) / median).toFixed(0)} payouts/s`;
    console.log(line);
  }
} finally {
  await rm(directory, { recursive: true, force: true });
}

function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] as number;
}
