/**
 * The candidate filters load packed windows computed in SQL (windowSql, for the values packableSql admits): they
 * must be exactly the characters the filter hashes in JavaScript, or a registered address would be missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashedWindow, packableSql, windowSql } from '../../functions/adapters/postgres/bloom-filter.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

describe('windows computed in SQL', () => {
  it('are the characters JavaScript hashes, for every length; values that are not printable ASCII are not packed', async () => {
    const values = [
      ...Array.from({ length: 110 }, (_, n) => ascii.repeat(2).slice(n % 95, (n % 95) + n)),
      syntheticAddress('mainnet', 1),
      syntheticAddress('preprod', 2),
      'a,b'.repeat(20),
      "quote'in" + 'x'.repeat(30),
      'é'.repeat(40),
      'addr1' + 'é' + 'q'.repeat(60),
      '😀'.repeat(30),
      'tab\there' + 'x'.repeat(30),
    ];
    const { rows } = await db.pool.query<{ value: string; packable: boolean; window: string }>(
      `SELECT value, ${packableSql('value')} AS packable, ${windowSql('value')} AS window FROM unnest($1::text[]) AS v(value)`,
      [values],
    );
    expect(rows.map((row) => row.value)).toEqual(values);
    for (const row of rows) {
      const printableAscii = /^[ -~]*$/.test(row.value);
      expect(row.packable, JSON.stringify(row.value)).toBe(printableAscii && row.value.length >= 24);
      if (row.packable) expect(row.window, JSON.stringify(row.value)).toBe(hashedWindow(row.value));
    }
  });
});
