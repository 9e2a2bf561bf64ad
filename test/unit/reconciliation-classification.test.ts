import { describe, expect, it } from 'vitest';
import { compareChunk, sameAssets, type ChainOutput, type RecordedPayment } from '../../functions/domain/reconciliation/classification.js';
import { comparisonMode } from '../../functions/domain/reconciliation/reconciliation-runner.js';

const POLICY = 'ab'.repeat(28);
const tx = (n: number) => n.toString(16).padStart(64, '0');

function onChain(n: number, lovelace = 2_000_000n, assets: ChainOutput['assets'] = []): ChainOutput {
  return { txId: tx(n), index: 0, address: 'addr1a', lovelace, assets };
}
function recorded(n: number, overrides: Partial<RecordedPayment> = {}): RecordedPayment {
  return { txId: tx(n), index: 0, address: 'addr1a', lovelace: 2_000_000n, assets: [], status: 'confirmed', spent: false, ...overrides };
}

describe('comparing a chunk at a consistent point', () => {
  it('matches outputs the database holds confirmed and unspent with the same value', () => {
    const result = compareChunk(
      [onChain(1), onChain(2, 5n, [{ policyId: POLICY, assetName: '', quantity: 2n ** 64n - 1n }])],
      [recorded(1), recorded(2, { lovelace: 5n, assets: [{ policyId: POLICY, assetName: '', quantity: 2n ** 64n - 1n }] })],
      'consistent',
    );
    expect(result).toEqual({
      counts: { matched: 2, missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0, tooRecent: 0, predatesWatch: 0 },
      discrepancies: [],
    });
  });

  it('reports an output on chain without a payment as missing_in_db', () => {
    const result = compareChunk([onChain(1)], [], 'consistent');
    expect(result.counts.missingInDb).toBe(1);
    expect(result.discrepancies).toEqual([
      { kind: 'missing_in_db', txId: tx(1), index: 0, address: 'addr1a', chain: { lovelace: 2_000_000n, assets: [] } },
    ]);
  });

  it('counts an output the address already held when watching began apart: predates watching, no discrepancy', () => {
    const watch = { predating: new Set([`${tx(1)}#0`]), unopened: new Set<string>() };
    for (const mode of ['consistent', 'lagging'] as const) {
      const result = compareChunk([onChain(1), onChain(2)], [], mode, undefined, watch);
      expect(result.counts).toMatchObject({ predatesWatch: 1, missingInDb: mode === 'consistent' ? 1 : 0 });
      expect(result.discrepancies.map((found) => found.txId)).toEqual(mode === 'consistent' ? [tx(2)] : []);
    }
    // Held before, yet recorded by the database too (a rebuild re-derived it): compared as any payment.
    const recordedToo = compareChunk([onChain(1, 3n)], [recorded(1)], 'consistent', undefined, watch);
    expect(recordedToo.counts).toMatchObject({ predatesWatch: 0, amountMismatch: 1 });
    // Believed spent by the database: a discrepancy whatever the opening says.
    const believedSpent = compareChunk([onChain(1)], [recorded(1, { spent: true })], 'consistent', undefined, watch);
    expect(believedSpent.counts).toMatchObject({ predatesWatch: 0, missingInDb: 1 });
  });

  it('does not judge what the database lacks at an address whose opening is not known yet', () => {
    const watch = { predating: new Set<string>(), unopened: new Set(['addr1a']) };
    const result = compareChunk([onChain(1), onChain(2)], [recorded(2)], 'consistent', undefined, watch);
    expect(result.counts).toMatchObject({ tooRecent: 1, matched: 1, missingInDb: 0 });
  });

  it('reports an output on chain that the database believes spent as missing_in_db', () => {
    const result = compareChunk([onChain(1)], [recorded(1, { spent: true })], 'consistent');
    expect(result.discrepancies[0]).toMatchObject({ kind: 'missing_in_db', db: { spent: true } });
  });

  it('reports a confirmed unspent payment absent from the chain as extra_in_db', () => {
    const result = compareChunk([], [recorded(7, { lovelace: 9n })], 'consistent');
    expect(result.counts.extraInDb).toBe(1);
    expect(result.discrepancies).toEqual([
      { kind: 'extra_in_db', txId: tx(7), index: 0, address: 'addr1a', db: { lovelace: 9n, assets: [], spent: false } },
    ]);
  });

  it('reports a different lovelace amount as amount_mismatch, and different tokens as asset_mismatch', () => {
    const token = { policyId: POLICY, assetName: '01', quantity: 3n };
    const result = compareChunk(
      [onChain(1, 10n), onChain(2, 5n, [token])],
      [recorded(1, { lovelace: 11n }), recorded(2, { lovelace: 5n, assets: [{ ...token, quantity: 4n }] })],
      'consistent',
    );
    expect(result.counts).toMatchObject({ amountMismatch: 1, assetMismatch: 1, matched: 0 });
    expect(result.discrepancies.map((d) => [d.kind, d.chain?.lovelace, d.db?.lovelace])).toEqual([
      ['amount_mismatch', 10n, 11n],
      ['asset_mismatch', 5n, 5n],
    ]);
  });

  it('counts pending payments as too recent, on chain or not', () => {
    const result = compareChunk(
      [onChain(1, 1n)],
      [recorded(1, { status: 'pending', lovelace: 999n }), recorded(2, { status: 'pending' })],
      'consistent',
    );
    expect(result.counts).toEqual({
      matched: 0,
      missingInDb: 0,
      extraInDb: 0,
      amountMismatch: 0,
      assetMismatch: 0,
      tooRecent: 2,
      predatesWatch: 0,
    });
  });

  it('ignores payments the database saw spent that the chain does not hold either', () => {
    expect(compareChunk([], [recorded(1, { spent: true })], 'consistent').counts).toEqual(compareChunk([], [], 'consistent').counts);
  });
});

describe('comparing a chunk while the database lags the node', () => {
  it('counts an output not yet applied as too recent, never as missing', () => {
    const result = compareChunk([onChain(1)], [], 'lagging');
    expect(result).toEqual({
      counts: { matched: 0, missingInDb: 0, extraInDb: 0, amountMismatch: 0, assetMismatch: 0, tooRecent: 1, predatesWatch: 0 },
      discrepancies: [],
    });
  });

  it('counts a payment spent in a block not yet applied as too recent, never as extra', () => {
    expect(compareChunk([], [recorded(1)], 'lagging').counts).toMatchObject({ extraInDb: 0, tooRecent: 1 });
  });

  it('still matches and still reports a value mismatch of an output both sides hold (its value is fixed by its transaction)', () => {
    expect(compareChunk([onChain(1), onChain(2, 3n)], [recorded(1), recorded(2, { lovelace: 4n })], 'lagging').counts).toMatchObject({
      matched: 1,
      amountMismatch: 1,
    });
  });
});

describe('when a chunk is consistent', () => {
  const applied = { slot: 100n, hash: 'aa'.repeat(32), height: 50n };
  const point = { slot: 100n, hash: 'aa'.repeat(32) };
  it('is consistent only when the node stayed at the applied block during the query', () => {
    expect(comparisonMode(point, point, applied)).toBe('consistent');
    expect(comparisonMode(point, { slot: 120n, hash: 'bb'.repeat(32) }, applied)).toBe('lagging');
    expect(comparisonMode({ slot: 120n, hash: 'bb'.repeat(32) }, { slot: 120n, hash: 'bb'.repeat(32) }, applied)).toBe('lagging');
    expect(comparisonMode({ slot: 100n, hash: 'cc'.repeat(32) }, { slot: 100n, hash: 'cc'.repeat(32) }, applied)).toBe('lagging'); // a fork at the same slot
    expect(comparisonMode(point, point, null)).toBe('lagging');
    expect(comparisonMode('origin', 'origin', null)).toBe('consistent');
  });
});

describe('sameAssets', () => {
  it('compares quantities per token whatever the order', () => {
    const a = { policyId: POLICY, assetName: '01', quantity: 1n };
    const b = { policyId: POLICY, assetName: '02', quantity: 2n };
    expect(sameAssets([a, b], [b, a])).toBe(true);
    expect(sameAssets([a], [a, b])).toBe(false);
    expect(sameAssets([a], [{ ...a, quantity: 2n }])).toBe(false);
  });
});
