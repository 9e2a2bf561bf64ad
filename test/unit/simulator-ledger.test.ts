import { describe, expect, it } from 'vitest';
import { transactionEffects, type JsonRecord, type UtxoEntry } from '../../functions/local/simulator/block-effects.js';
import { Ledger, type LedgerView } from '../../functions/local/simulator/ledger.js';

const id = (label: string): string => label.padEnd(64, '0');
const reference = (txId: string, index: number): JsonRecord => ({ transaction: { id: txId }, index });
const output = (address: string, lovelace: bigint): JsonRecord => ({ address, value: { ada: { lovelace } } });

function transaction(
  txId: string,
  fields: Partial<Record<'inputs' | 'outputs' | 'collaterals' | 'references', JsonRecord[]>> & {
    failed?: boolean;
    collateralReturn?: JsonRecord;
  },
): JsonRecord {
  return {
    id: txId,
    spends: fields.failed ? 'collaterals' : 'inputs',
    inputs: fields.inputs ?? [],
    references: fields.references,
    outputs: fields.outputs ?? [],
    collaterals: fields.collaterals,
    collateralReturn: fields.collateralReturn,
    signatories: [],
  };
}

const keys = (view: LedgerView): string[] => view.all().map((entry) => entry.key);
const apply = (ledger: Ledger, height: number, ...transactions: JsonRecord[]): void =>
  ledger.apply(height, transactions.map(transactionEffects));

describe('transaction effects', () => {
  it('a valid transaction consumes its inputs and creates its outputs; references are only read', () => {
    const effects = transactionEffects(
      transaction(id('b'), {
        inputs: [reference(id('a'), 0)],
        references: [reference(id('a'), 1)],
        outputs: [output('addr_x', 5n), output('addr_y', 6n)],
      }),
    );
    expect(effects.consumed).toEqual([`${id('a')}#0`]);
    expect(effects.created.map((entry) => [entry.key, entry.address, entry.outputJson])).toEqual([
      [`${id('b')}#0`, 'addr_x', '{"address":"addr_x","value":{"ada":{"lovelace":5}}}'],
      [`${id('b')}#1`, 'addr_y', '{"address":"addr_y","value":{"ada":{"lovelace":6}}}'],
    ]);
  });

  it('a failed transaction consumes only its collaterals and creates only its collateral return, after the outputs', () => {
    const effects = transactionEffects(
      transaction(id('c'), {
        failed: true,
        inputs: [reference(id('a'), 0)],
        outputs: [output('addr_x', 1n), output('addr_x', 2n)],
        collaterals: [reference(id('a'), 3)],
        collateralReturn: output('addr_z', 9n),
      }),
    );
    expect(effects.consumed).toEqual([`${id('a')}#3`]);
    expect(effects.created.map((entry) => entry.key)).toEqual([`${id('c')}#2`]);
    expect(transactionEffects(transaction(id('d'), { failed: true, collaterals: [reference(id('a'), 4)] })).created).toEqual([]);
  });
});

describe('Ledger', () => {
  function threeBlocks(): { ledger: Ledger; snapshots: string[][] } {
    const ledger = new Ledger(10);
    const snapshots = [keys(ledger.tipView())];
    apply(
      ledger,
      0,
      transaction(id('t1'), { inputs: [reference(id('elsewhere'), 0)], outputs: [output('alice', 10n), output('bob', 20n)] }),
    );
    snapshots.push(keys(ledger.tipView()));
    apply(
      ledger,
      1,
      transaction(id('t2'), { inputs: [reference(id('t1'), 0)], outputs: [output('carol', 10n)] }),
      transaction(id('t3'), { inputs: [reference(id('t2'), 0)], outputs: [output('alice', 9n)] }), // spends an output of the same block
    );
    snapshots.push(keys(ledger.tipView()));
    apply(
      ledger,
      2,
      transaction(id('t4'), {
        failed: true,
        inputs: [reference(id('t1'), 1)],
        collaterals: [reference(id('t3'), 0)],
        collateralReturn: output('alice', 4n),
      }),
      transaction(id('t1'), { outputs: [output('dave', 1n)] }), // a replayed transaction re-creating an existing output
    );
    snapshots.push(keys(ledger.tipView()));
    return { ledger, snapshots };
  }

  it('applies blocks in order, ignoring inputs the simulated chain never created', () => {
    const { ledger } = threeBlocks();
    expect(keys(ledger.tipView())).toEqual([`${id('t1')}#0`, `${id('t1')}#1`, `${id('t4')}#0`].sort());
    expect(ledger.tipView().get(id('t1'), 0)?.address).toBe('dave');
    expect(
      ledger
        .tipView()
        .atAddresses(['alice', 'bob'])
        .map((entry: UtxoEntry) => entry.address),
    ).toEqual(['bob', 'alice']);
    expect(ledger.size).toBe(3);
  });

  it('shows the state after any retained block, and undoes blocks back to exactly those states', () => {
    const { ledger, snapshots } = threeBlocks();
    for (let height = -1; height <= 2; height++) expect(keys(ledger.viewAt(height)!)).toEqual(snapshots[height + 1]);
    expect(ledger.viewAt(1)!.get(id('t1'), 0)).toBeUndefined();
    expect(ledger.viewAt(0)!.get(id('t1'), 0)?.address).toBe('alice');
    expect(
      ledger
        .viewAt(1)!
        .atAddresses(['alice'])
        .map((entry) => entry.key),
    ).toEqual([`${id('t3')}#0`]);
    expect(ledger.viewAt(3)).toBeUndefined();

    ledger.undoNewest(1);
    expect(keys(ledger.tipView())).toEqual(snapshots[2]);
    expect(ledger.tipView().get(id('t1'), 0)).toBeUndefined();
    ledger.undoNewest(2);
    expect(keys(ledger.tipView())).toEqual([]);
    expect(ledger.height).toBe(-1);
    expect(() => ledger.undoNewest(1)).toThrow(RangeError);
  });

  it('keeps change records for the newest `undoDepth` blocks only', () => {
    const ledger = new Ledger(2);
    for (let height = 0; height < 5; height++) apply(ledger, height, transaction(id(`h${height}`), { outputs: [output('alice', 1n)] }));
    expect(ledger.undoableBlocks).toBe(2);
    expect(ledger.viewAt(2)).toBeDefined();
    expect(ledger.viewAt(1)).toBeUndefined();
    ledger.forgetBefore(4);
    expect(ledger.undoableBlocks).toBe(1);
    expect(() => ledger.apply(9, [])).toThrow(/cannot apply block 9/);
  });
});
