/**
 * Migration 0022 (one live payout per reference_id) on a database whose payouts already share a reference: it stops,
 * naming each shared reference and its live payouts with their statuses, and changes nothing; the steps its message
 * gives work as written: cancel what still can be, run the statement it quotes (renaming the reference of all but the
 * oldest live payout, audited), migrate again, and the index is built.
 */
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../functions/adapters/postgres/migrate.js';
import { cancelPayout } from '../../functions/adapters/postgres/payout-requests.js';
import { inTransaction } from '../../functions/adapters/postgres/pool.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { emptyDatabaseForFile } from '../support/database.js';

const database = emptyDatabaseForFile();

const id = (n: number) => `po_${n.toString(16).padStart(24, '0')}`;

describe('migration 0022_payout_reference_once', () => {
  it('stops naming the live payouts that share a reference, and the steps it names let it build the index', async () => {
    const migrations = await loadMigrations();
    const upTo = (version: string) => migrations.filter((m) => m.version <= version);
    await migrate(database.pool, upTo('0021'));
    // W-dup: three live (confirmed, submitted: past cancelling; requested) and a failed one; W-pair: two live, one of
    // them still cancellable; W-ok: one live beside a cancelled and a rejected one.
    const payouts: [number, string, string][] = [
      [1, 'W-dup', 'confirmed'],
      [2, 'W-dup', 'submitted'],
      [3, 'W-dup', 'failed'],
      [4, 'W-ok', 'approved'],
      [5, 'W-ok', 'cancelled'],
      [6, 'W-ok', 'rejected'],
      [7, 'W-dup', 'requested'],
      [8, 'W-pair', 'in_block'],
      [9, 'W-pair', 'built'],
    ];
    for (const [n, reference, status] of payouts) {
      await database.pool.query(
        `INSERT INTO payouts (id, reference_id, destination, lovelace, status, requested_by, created_at, updated_at, version)
         VALUES ($1, $2, $3, 1000000, $4, 'operator:alice', now() + make_interval(secs => $5), now(), 1)`,
        [id(n), reference, syntheticAddress('preprod', 'migration'), status, n],
      );
    }
    const applied = async () =>
      (await database.pool.query('SELECT version FROM schema_migrations ORDER BY version DESC LIMIT 1')).rows[0].version;
    const refusal = async () => {
      const error = await migrate(database.pool, upTo('0022')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(Error);
      return (error as Error).message;
    };

    const first = await refusal();
    expect(first).toContain(
      `more than one live payout per reference_id: W-dup: ${id(1)} confirmed, ${id(2)} submitted, ${id(7)} requested; ` +
        `W-pair: ${id(8)} in_block, ${id(9)} built. Nothing was applied.`,
    );
    expect(await applied()).toBe('0021');

    // The first step: cancel what should not pay and still can be; a submitted payout cannot be.
    const cancel = (n: number) =>
      inTransaction(database.pool, (client) => cancelPayout(client, id(n), 'operator:bob', 'duplicate withdrawal', new Date()));
    await cancel(7);
    await cancel(9);
    await expect(cancel(2)).rejects.toThrow(/can be cancelled only until it is signed/);
    expect(await refusal()).toContain(`reference_id: W-dup: ${id(1)} confirmed, ${id(2)} submitted. Nothing was applied.`);
    expect(await applied()).toBe('0021');

    // The second: the statement the message quotes, as written.
    const statement = /as one statement: (WITH .*;) Then migrate again\.$/.exec(first)?.[1];
    expect(statement).toBeDefined();
    await database.pool.query(statement!);
    const references = async () =>
      Object.fromEntries(
        (await database.pool.query('SELECT id, reference_id FROM payouts ORDER BY id')).rows.map((r) => [r.id, r.reference_id]),
      );
    expect(await references()).toEqual({
      [id(1)]: 'W-dup',
      [id(2)]: `W-dup (duplicate ${id(2)})`,
      [id(3)]: 'W-dup',
      [id(4)]: 'W-ok',
      [id(5)]: 'W-ok',
      [id(6)]: 'W-ok',
      [id(7)]: 'W-dup',
      [id(8)]: 'W-pair',
      [id(9)]: 'W-pair',
    });
    const renames = async () =>
      (await database.pool.query("SELECT entity_type, entity_id, actor, details FROM audit_log WHERE action = 'payout.reference_renamed'"))
        .rows;
    const audited = await renames();
    expect(audited).toEqual([
      {
        entity_type: 'payout',
        entity_id: id(2),
        actor: expect.stringMatching(/^operator:.+/),
        details: { from: 'W-dup', to: `W-dup (duplicate ${id(2)})`, reason: 'migration 0022: another live payout carries the reference' },
      },
    ]);
    // Run again, it finds nothing more to rename.
    await database.pool.query(statement!);
    expect(await renames()).toEqual(audited);

    expect((await migrate(database.pool, upTo('0022'))).applied).toEqual(['0022_payout_reference_once']);
    await expect(
      database.pool.query(
        `INSERT INTO payouts (id, reference_id, destination, lovelace, status, requested_by, created_at, updated_at, version)
         VALUES ($1, 'W-dup', 'addr', 1, 'requested', 'operator:alice', now(), now(), 1)`,
        [id(10)],
      ),
    ).rejects.toThrow(/payouts_reference_live/);
  });
});
