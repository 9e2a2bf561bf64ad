/**
 * Migration 0017 (balances per asset) on a database that already holds a ledger: its rows become lovelace rows,
 * nothing else changes, the key now includes the asset, and older balance mismatches name lovelace.
 */
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../functions/adapters/postgres/migrate.js';
import { emptyDatabaseForFile } from '../support/database.js';

const database = emptyDatabaseForFile();

describe('migration 0017_asset_balances', () => {
  it('turns the existing ledger into lovelace rows, keeps balances, and keys the ledger by asset', async () => {
    const migrations = await loadMigrations();
    expect(migrations.some((m) => m.version === '0017')).toBe(true);
    await migrate(
      database.pool,
      migrations.filter((m) => m.version < '0017'),
    );
    await database.pool.query(
      `INSERT INTO balance_transactions (user_id, type, amount_lovelace, payment_tx_hash, payment_output_index, occurrence, reason)
       VALUES ('u-1', 'credit', 9007199254740993, 'aa', 0, 1, 'payment_confirmed'),
              ('u-1', 'debit', 9007199254740993, 'aa', 0, 1, 'payment_reversed'),
              ('u-1', 'credit', 9007199254740993, 'aa', 0, 2, 'payment_confirmed'),
              ('u-2', 'credit', 5, 'bb', 3, 1, 'payment_confirmed')`,
    );
    await database.pool.query(`INSERT INTO user_balances (user_id, balance_lovelace) VALUES ('u-1', 9007199254740993), ('u-2', 4)`);
    const run = await database.pool.query<{ id: string }>(
      `INSERT INTO reconciliation_runs (trigger) VALUES ('on_demand') RETURNING id::text`,
    );
    await database.pool.query(
      `INSERT INTO reconciliation_discrepancies (run_id, kind, user_id, stored_lovelace, calculated_lovelace)
       VALUES ($1, 'balance_mismatch', 'u-2', 4, 5)`,
      [run.rows[0]!.id],
    );

    expect(
      (
        await migrate(
          database.pool,
          migrations.filter((m) => m.version <= '0017'),
        )
      ).applied,
    ).toEqual(['0017_asset_balances']);

    const { rows: ledger } = await database.pool.query(
      `SELECT user_id, type, asset, quantity::text AS quantity, amount_lovelace, payment_tx_hash, occurrence
         FROM balance_transactions ORDER BY id`,
    );
    expect(ledger).toEqual([
      {
        user_id: 'u-1',
        type: 'credit',
        asset: 'lovelace',
        quantity: '9007199254740993',
        amount_lovelace: 9007199254740993n,
        payment_tx_hash: 'aa',
        occurrence: 1,
      },
      {
        user_id: 'u-1',
        type: 'debit',
        asset: 'lovelace',
        quantity: '9007199254740993',
        amount_lovelace: 9007199254740993n,
        payment_tx_hash: 'aa',
        occurrence: 1,
      },
      {
        user_id: 'u-1',
        type: 'credit',
        asset: 'lovelace',
        quantity: '9007199254740993',
        amount_lovelace: 9007199254740993n,
        payment_tx_hash: 'aa',
        occurrence: 2,
      },
      { user_id: 'u-2', type: 'credit', asset: 'lovelace', quantity: '5', amount_lovelace: 5n, payment_tx_hash: 'bb', occurrence: 1 },
    ]);
    expect((await database.pool.query('SELECT user_id, balance_lovelace FROM user_balances ORDER BY user_id')).rows).toEqual([
      { user_id: 'u-1', balance_lovelace: 9007199254740993n },
      { user_id: 'u-2', balance_lovelace: 4n },
    ]);
    expect((await database.pool.query('SELECT count(*)::int AS n FROM user_asset_balances')).rows[0].n).toBe(0);
    expect(
      (
        await database.pool.query(
          `SELECT asset, stored_quantity::text AS stored, calculated_quantity::text AS calculated FROM reconciliation_discrepancies`,
        )
      ).rows,
    ).toEqual([{ asset: 'lovelace', stored: '4', calculated: '5' }]);

    // The key is (payment, asset, type, occurrence): the lovelace credit is refused again, a token's first is not.
    const credit = (asset: string) =>
      database.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, payment_tx_hash, payment_output_index, occurrence, reason)
         VALUES ('u-2', 'credit', $1, 5, 'bb', 3, 1, 'payment_confirmed')`,
        [asset],
      );
    await expect(credit('lovelace')).rejects.toThrow(/duplicate key value violates unique constraint "balance_transactions_once"/);
    await credit(`${'ab'.repeat(28)}.cafe`);
    await expect(credit(`${'ab'.repeat(28)}.cafe`)).rejects.toThrow(/balance_transactions_once/);
    // amount_lovelace is derived: it cannot be written, and a token row has none.
    await expect(
      database.pool.query(
        `INSERT INTO balance_transactions (user_id, type, asset, quantity, amount_lovelace, reason)
         VALUES ('u-2', 'credit', 'lovelace', 1, 1, 'manual')`,
      ),
    ).rejects.toThrow(/amount_lovelace/);
    expect((await database.pool.query(`SELECT amount_lovelace FROM balance_transactions WHERE asset <> 'lovelace'`)).rows).toEqual([
      { amount_lovelace: null },
    ]);
  });
});
