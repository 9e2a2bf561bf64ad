/**
 * Migration 0022 (one live payout per reference_id) on a database whose payouts already share a reference: it stops,
 * naming the reference and its live payouts, and changes nothing; once all but one are cancelled it builds the index.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type pg from 'pg';
import { loadMigrations, migrate } from '../../functions/adapters/postgres/migrate.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { withAdmin, withDatabase } from '../support/global-setup.js';

const name = `pm_test_${randomBytes(6).toString('hex')}`;
let pool: pg.Pool;

beforeAll(async () => {
  const adminUrl = inject('adminDatabaseUrl');
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  pool = createPool({ connectionString: withDatabase(adminUrl, name), max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await withAdmin(inject('adminDatabaseUrl'), (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
});

const id = (n: number) => `po_${n.toString(16).padStart(24, '0')}`;

describe('migration 0022_payout_reference_once', () => {
  it('stops naming the live payouts that share a reference, and builds the index once only one of them is live', async () => {
    const migrations = await loadMigrations();
    const upTo = (version: string) => migrations.filter((m) => m.version <= version);
    await migrate(pool, upTo('0021'));
    // W-dup: two live (requested, expired) and a failed one; W-ok: one live beside a cancelled and a rejected one.
    const payouts: [number, string, string][] = [
      [1, 'W-dup', 'requested'],
      [2, 'W-dup', 'expired'],
      [3, 'W-dup', 'failed'],
      [4, 'W-ok', 'approved'],
      [5, 'W-ok', 'cancelled'],
      [6, 'W-ok', 'rejected'],
    ];
    for (const [n, reference, status] of payouts) {
      await pool.query(
        `INSERT INTO payouts (id, reference_id, destination, lovelace, status, requested_by, created_at, updated_at, version)
         VALUES ($1, $2, $3, 1000000, $4, 'operator:alice', now() + make_interval(secs => $5), now(), 1)`,
        [id(n), reference, syntheticAddress('preprod', 'migration'), status, n],
      );
    }

    await expect(migrate(pool, upTo('0022'))).rejects.toThrow(`more than one live payout per reference_id: W-dup (${id(1)}, ${id(2)})`);
    const applied = async () => (await pool.query('SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1')).rows[0].version;
    expect(await applied()).toBe('0021');

    await pool.query("UPDATE payouts SET status = 'cancelled' WHERE id = $1", [id(1)]);
    expect((await migrate(pool, upTo('0022'))).applied).toEqual(['0022_payout_reference_once']);
    await expect(
      pool.query(
        `INSERT INTO payouts (id, reference_id, destination, lovelace, status, requested_by, created_at, updated_at, version)
         VALUES ($1, 'W-ok', 'addr', 1, 'requested', 'operator:alice', now(), now(), 1)`,
        [id(7)],
      ),
    ).rejects.toThrow(/payouts_reference_live/);
  });
});
