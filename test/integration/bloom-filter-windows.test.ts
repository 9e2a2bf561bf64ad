/**
 * The candidate filters load values as packed prefixes read in SQL (prefixSql), accepted only when packedPageIsExact
 * says every prefix is 32 ASCII characters: then hashing a prefix must be hashing its value in JavaScript, or a
 * registered address would be missed. Checked here against PostgreSQL's own left() and octet_length() (the test
 * database is UTF8, as RDS's are; the loads pack nothing in another encoding).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EntryHashes, packedPageIsExact, prefixSql } from '../../functions/adapters/postgres/bloom-filter.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const values = [
  ...Array.from({ length: 110 }, (_, n) => ascii.repeat(2).slice(n % 95, (n % 95) + n)),
  syntheticAddress('mainnet', 1),
  syntheticAddress('preprod', 2),
  'a,b'.repeat(20),
  `quote'in${'x'.repeat(30)}`,
  `tab\there${'x'.repeat(30)}`,
  'é'.repeat(40),
  `addr1é${'q'.repeat(60)}`,
  `${'q'.repeat(40)}é`, // not ASCII only after the prefix: packable
  `${'q'.repeat(31)}😀`,
  '😀'.repeat(30),
];

async function prefixes(of: string[]): Promise<{ value: string; prefix: string; bytes: number }[]> {
  const { rows } = await db.pool.query<{ value: string; prefix: string; bytes: number }>(
    `SELECT value, ${prefixSql('value')} AS prefix, octet_length(${prefixSql('value')}) AS bytes FROM unnest($1::text[]) AS v(value)`,
    [of],
  );
  return rows;
}

describe('packed prefixes read in SQL', () => {
  it('are accepted exactly for values whose first 32 characters are ASCII, and then hash as their values do', async () => {
    const rows = await prefixes(values);
    expect(rows.map((row) => row.value)).toEqual(values);
    for (const row of rows) {
      const accepted = packedPageIsExact(1, row.prefix, row.bytes);
      expect(accepted, JSON.stringify(row.value)).toBe(/^[\x01-\x7f]{32}/.test(row.value));
      if (!accepted) continue;
      const packed = new EntryHashes();
      packed.addPackedPrefixes(row.prefix);
      const whole = new EntryHashes();
      whole.add(row.value);
      expect(Array.from(packed.hashes()), JSON.stringify(row.value)).toEqual(Array.from(whole.hashes()));
    }
  });

  it('a page with any value that is not packable is refused as a whole', async () => {
    const packable = (await prefixes(values)).filter((row) => packedPageIsExact(1, row.prefix, row.bytes));
    const { rows } = await db.pool.query<{ prefixes: string; bytes: number }>(
      `SELECT string_agg(${prefixSql('value')}, '' ORDER BY n) AS prefixes, octet_length(string_agg(${prefixSql('value')}, '' ORDER BY n)) AS bytes
         FROM unnest($1::text[]) WITH ORDINALITY AS v(value, n)`,
      [packable.map((row) => row.value)],
    );
    expect(packedPageIsExact(packable.length, rows[0]!.prefixes, rows[0]!.bytes)).toBe(true);
    for (const odd of values.filter((value) => !/^[\x01-\x7f]{32}/.test(value))) {
      const page = [...packable.map((row) => row.value), odd];
      const { rows: mixed } = await db.pool.query<{ prefixes: string; bytes: number }>(
        `SELECT string_agg(${prefixSql('value')}, '') AS prefixes, octet_length(string_agg(${prefixSql('value')}, '')) AS bytes FROM unnest($1::text[]) AS v(value)`,
        [page],
      );
      expect(packedPageIsExact(page.length, mixed[0]!.prefixes, mixed[0]!.bytes), JSON.stringify(odd)).toBe(false);
    }
  });
});
