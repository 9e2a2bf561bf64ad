import { BloomFilter } from '../../functions/adapters/postgres/bloom-filter.js';
import { storeFilter } from '../../functions/adapters/postgres/filter-store.js';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_TABLES, type BackupTable } from '../../functions/domain/backup.js';
import { InMemoryMetrics } from '../../functions/adapters/observability/in-memory-metrics.js';
import { s3Destination } from '../../functions/adapters/s3/backup-objects.js';
import { exportBackup } from '../../functions/handlers/backup-export-core.js';
import { restoreExport } from '../../functions/local/cli/restore.js';
import { runCli } from '../../functions/local/cli/main.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';
import { PostgresAddressRegistry } from '../../functions/adapters/postgres/address-registry.js';
import { PostgresRebuildStore } from '../../functions/adapters/postgres/rebuild-store.js';
import { readCompressed } from '../../functions/adapters/backup/ndjson-gzip.js';
import { getObjectStream } from '../../functions/adapters/s3/backup-objects.js';
import { runRebuild } from '../../functions/handlers/rebuild-core.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createEngineFixture } from '../support/engine-fixture.js';
import { FixedClock, RecordingLogger } from '../support/recorders.js';
import { captureOutput, emfDocuments, lambdaContext, metricValues, startLocalS3, type LocalS3 } from '../support/local-aws.js';

const BUCKET = 'payment-monitor-test-backups';
const TABLES = Object.keys(BACKUP_TABLES) as BackupTable[];
const ORDER: Record<BackupTable, string> = { payment_addresses: 'id', user_balances: 'user_id', incoming_payments: 'id' };
const PAYMENTS = 5_000; // more than one cursor fetch (2,000) and one insert batch (1,000)

let source: TestDatabase;
let s3: LocalS3;
const scratch: TestDatabase[] = [];
let workDirectory: string;

async function freshDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  scratch.push(db);
  return db;
}

beforeAll(async () => {
  source = await createTestDatabase();
  s3 = await startLocalS3();
  await s3.createBucket(BUCKET);
  workDirectory = await mkdtemp(path.join(tmpdir(), 'backup-test-'));
  await new PostgresAddressRegistry(source.pool, 'mainnet').register(
    Array.from({ length: 25 }, (_, i) => ({
      address: syntheticAddress('mainnet', `backup-${i}`),
      referenceType: i % 2 === 0 ? 'invoice' : 'deposit',
      referenceId: `R-${i}`,
      userId: i % 3 === 0 ? null : `user-${i % 7}`,
    })),
    'test',
  );
  // Amounts beyond 2^53, token quantities of 2^64 − 1, every status, spends, and months that have no partition yet
  // (they sit in the default partition of the source).
  await source.pool.query(
    `INSERT INTO incoming_payments (tx_hash, output_index, address, amount_lovelace, assets, reference_type, reference_id,
                                    user_id, block_height, block_slot, block_hash, block_time, status, confirmed_at,
                                    spent_by_tx_hash, spent_at_slot, spent_at_height)
     SELECT md5(g::text) || md5(g::text), g % 3, 'addr_test_' || (g % 10), 9007199254740993 + g,
            CASE WHEN g % 4 = 0 THEN '{}'::jsonb
                 ELSE jsonb_build_object(repeat('ab', 28), jsonb_build_object('', '18446744073709551615', '746f6b656e', (g * 7)::text)) END,
            'deposit', 'D-' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE 'user-' || (g % 7) END,
            g, g * 20, md5('b' || g), timestamptz '2025-01-01 00:00:00.123456+00' + g * interval '1 hour',
            (ARRAY['pending', 'confirmed', 'confirmed', 'rolled_back', 'reversed'])[g % 5 + 1],
            CASE WHEN g % 5 IN (1, 2, 4) THEN timestamptz '2025-01-01' + g * interval '90 minutes' END,
            CASE WHEN g % 11 = 1 THEN md5('s' || g) || md5('s' || g) END,
            CASE WHEN g % 11 = 1 THEN g * 20 + 40 END,
            CASE WHEN g % 11 = 1 THEN g + 2 END
       FROM generate_series(1, ${PAYMENTS}) g`,
  );
  await source.pool.query(
    `INSERT INTO user_balances (user_id, balance_lovelace) VALUES ('user-big', 9223372036854775000), ('user-negative', -5),
            ('user-1', 12345678901234567)`,
  );
});

afterAll(async () => {
  await Promise.all([source.drop(), ...scratch.map((db) => db.drop())]);
  await s3.close();
  await rm(workDirectory, { recursive: true, force: true });
});

const contents = async (db: TestDatabase, table: BackupTable) =>
  (await db.pool.query(`SELECT * FROM ${table} ORDER BY ${ORDER[table]}`)).rows;

async function exportAll(clock = new FixedClock(new Date('2026-11-24T03:00:00Z'))) {
  const metrics = new InMemoryMetrics();
  const manifests = [];
  for (const table of TABLES) {
    const exported = await exportBackup(table, {
      pool: source.pool,
      destination: s3Destination(s3.client, BUCKET),
      logger: new RecordingLogger(),
      metrics,
      clock,
      stage: 'test',
    });
    manifests.push(exported);
  }
  return { manifests, metrics };
}

describe('backups', () => {
  it('round trip through S3: every table restored into a fresh database equals the original, bigints and jsonb included', async () => {
    const { manifests, metrics } = await exportAll();
    expect(manifests.map((m) => m.manifest.row_count)).toEqual([25, 3, PAYMENTS]);
    expect(manifests[2]!.manifest.held_by_rebuild).toBeNull(); // no rebuild ran
    expect(
      Object.entries(metrics.snapshot().counters)
        .filter(([key]) => key.startsWith('backup_rows_exported'))
        .map(([, value]) => value),
    ).toEqual([25, 3, PAYMENTS]);

    const { Contents } = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (Contents ?? []).map((object) => object.Key!).sort();
    for (const table of TABLES) {
      expect(keys.filter((key) => key.startsWith(BACKUP_TABLES[table].prefix))).toEqual([
        `${BACKUP_TABLES[table].prefix}2026/11/24/${table}-20261124T030000Z.manifest.json`,
        `${BACKUP_TABLES[table].prefix}2026/11/24/${table}-20261124T030000Z.ndjson.gz`,
      ]);
    }

    const target = await freshDatabase();
    await target.pool.query('DELETE FROM user_balances'); // a fresh database has none; make sure
    // The money tables' exports are not a state the engine can continue from: restored only when the operator
    // says the database is for reading (forensic), never by default.
    for (const { data, manifest } of manifests.slice(1)) {
      await expect(restoreExport(data, { pool: target.pool, s3: () => s3.client, actor: 'test:operator' })).rejects.toThrow(
        new RegExp(
          `^${manifest.table} is restored only for reading .* point-in-time recovery; to restore for reading, say so with --forensic$`,
        ),
      );
    }
    expect(
      (
        await target.pool.query(
          'SELECT (SELECT count(*) FROM user_balances) + (SELECT count(*) FROM incoming_payments) + (SELECT count(*) FROM audit_log) AS n',
        )
      ).rows[0].n,
    ).toBe(0n);
    // A candidate filter stored before the restore would claim ids the restored rows now have: the restore forgets it.
    const stored = { generation: undefined, lastSeenId: 0n, filter: new BloomFilter(100_000).stored() };
    await storeFilter(target.pool, { name: 'registered_addresses', ...stored });
    for (const { data } of manifests) {
      const restored = await restoreExport(data, { pool: target.pool, s3: () => s3.client, actor: 'test:operator', forensic: true });
      expect(restored.source).toBe(data);
    }
    expect((await target.pool.query('SELECT count(*)::int AS n FROM candidate_filter_snapshots')).rows[0].n).toBe(0);
    for (const table of TABLES) expect(await contents(target, table)).toEqual(await contents(source, table));
    const big = (await target.pool.query(`SELECT balance_lovelace FROM user_balances WHERE user_id = 'user-big'`)).rows[0].balance_lovelace;
    expect(big).toBe(9_223_372_036_854_775_000n);
    const assets = (await target.pool.query(`SELECT assets FROM incoming_payments WHERE amount_lovelace = 9007199254740994`)).rows[0]
      .assets;
    expect(assets).toEqual({ ['ab'.repeat(28)]: { '': '18446744073709551615', '746f6b656e': '7' } });

    // Restored rows live in their months' partitions, and new ids continue after the restored ones.
    const inDefault = (await target.pool.query('SELECT count(*)::int AS n FROM incoming_payments_default')).rows[0].n;
    expect(inDefault).toBe(0);
    const newAddress = syntheticAddress('mainnet', 'after-restore');
    await new PostgresAddressRegistry(target.pool, 'mainnet').register(
      [{ address: newAddress, referenceType: 'invoice', referenceId: 'NEW', userId: null }],
      'test',
    );
    const ids = (await target.pool.query('SELECT id, address FROM payment_addresses ORDER BY id DESC LIMIT 1')).rows[0];
    expect(ids).toMatchObject({ address: newAddress, id: 26n });
    const audit = (await target.pool.query(`SELECT entity_id, actor, details FROM audit_log WHERE action = 'backup_restored' ORDER BY id`))
      .rows;
    expect(audit.map((row) => row.entity_id)).toEqual(TABLES);
    expect(audit[2].details).toMatchObject({ rows: PAYMENTS, schema_version: manifests[2]!.manifest.schema_version, forensic: true });
  });

  it('refuses a target table that has rows, and a damaged export, restoring nothing', async () => {
    const { manifests } = await exportAll(new FixedClock(new Date('2026-11-24T04:00:00Z')));
    const target = await freshDatabase();
    const payments = manifests[2]!.data;
    await restoreExport(manifests[1]!.data, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true });
    await expect(
      restoreExport(manifests[1]!.data, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true }),
    ).rejects.toThrow(/user_balances already has rows: a restore loads into an empty table only/);

    // The same export as files: one byte changed in the data, then a manifest that claims another row count.
    const local = path.join(workDirectory, 'damaged');
    const dataFile = path.join(local, 'incoming_payments.ndjson.gz');
    const manifestFile = path.join(local, 'incoming_payments.manifest.json');
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const key = payments.replace(`s3://${BUCKET}/`, '');
    const body = Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const manifestText = await (
      await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key.replace('.ndjson.gz', '.manifest.json') }))
    ).Body!.transformToString();
    await import('node:fs/promises').then((fs) => fs.mkdir(local, { recursive: true }));
    const damaged = Buffer.from(body);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;
    await writeFile(dataFile, damaged);
    await writeFile(manifestFile, manifestText);
    await expect(restoreExport(dataFile, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true })).rejects.toThrow();
    await writeFile(dataFile, body);
    await writeFile(manifestFile, manifestText.replace(`"row_count": ${PAYMENTS}`, `"row_count": ${PAYMENTS + 1}`));
    await expect(restoreExport(manifestFile, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true })).rejects.toThrow(
      /5000 rows, the manifest says 5001; nothing was restored/,
    );
    await writeFile(manifestFile, manifestText.replace(/"sha256": "[0-9a-f]+"/, `"sha256": "${'0'.repeat(64)}"`));
    await expect(restoreExport(dataFile, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true })).rejects.toThrow(
      /does not match the manifest/,
    );
    expect((await target.pool.query('SELECT count(*)::int AS n FROM incoming_payments')).rows[0].n).toBe(0);
    expect((await target.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'backup_restored'`)).rows[0].n).toBe(1);

    await writeFile(manifestFile, manifestText);
    await restoreExport(dataFile, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true });
    expect(await contents(target, 'incoming_payments')).toEqual(await contents(source, 'incoming_payments'));
  });

  it('the CLI writes the same export to a folder and restores it into an empty database', async () => {
    const previousUrl = process.env.DATABASE_URL;
    const out = path.join(workDirectory, 'cli');
    const lines: string[] = [];
    try {
      process.env.DATABASE_URL = source.url;
      expect(await runCli(['backup', 'payment_addresses', '--out', out, '--json'], (text) => lines.push(text))).toBe(0);
      const manifest = JSON.parse(lines.at(-1)!) as { data: string; row_count: number; sha256: string };
      expect(manifest.row_count).toBe(25);
      const folder = path.dirname(manifest.data);
      expect((await readdir(folder)).sort()).toEqual(
        [path.basename(manifest.data).replace('.ndjson.gz', '.manifest.json'), path.basename(manifest.data)].sort(),
      );
      const target = await freshDatabase();
      process.env.DATABASE_URL = target.url;
      expect(await runCli(['restore', manifest.data, '--actor', 'cli:test'], (text) => lines.push(text))).toBe(0);
      expect(lines.at(-1)).toBe(`Restored 25 rows into payment_addresses from ${manifest.data}.`);
      expect(await contents(target, 'payment_addresses')).toEqual(await contents(source, 'payment_addresses'));
      expect(JSON.parse(await readFile(manifest.data.replace('.ndjson.gz', '.manifest.json'), 'utf8'))).toMatchObject({
        sha256: manifest.sha256,
        table: 'payment_addresses',
      });
      await expect(runCli(['restore', manifest.data], (text) => lines.push(text))).rejects.toThrow(/payment_addresses already has rows/);

      // A money table only with --forensic.
      process.env.DATABASE_URL = source.url;
      expect(await runCli(['backup', 'user_balances', '--out', out, '--json'], (text) => lines.push(text))).toBe(0);
      const balances = JSON.parse(lines.at(-1)!) as { data: string };
      process.env.DATABASE_URL = target.url;
      await expect(runCli(['restore', balances.data], (text) => lines.push(text))).rejects.toThrow(/say so with --forensic/);
      expect(await runCli(['restore', balances.data, '--forensic'], (text) => lines.push(text))).toBe(0);
      expect(await contents(target, 'user_balances')).toEqual(await contents(source, 'user_balances'));
    } finally {
      process.env.DATABASE_URL = previousUrl;
    }
  });

  it('the Lambda handler exports the requested table to BACKUP_BUCKET and counts backup_rows_exported', async () => {
    // The handler builds its own S3 client: point the SDK at s3rver through the standard endpoint variables.
    Object.assign(process.env, {
      DATABASE_URL: source.url,
      STAGE: process.env.STAGE ?? 'test',
      BACKUP_BUCKET: BUCKET,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    const { handler } = await import('../../functions/handlers/backup-export.js');
    const { result, lines } = await captureOutput(() =>
      handler({ table: 'user_balances' }, lambdaContext('payment-monitor-backup-export')),
    );
    expect(result).toMatchObject({
      table: 'user_balances',
      row_count: 3,
      data: expect.stringMatching(new RegExp(`^s3://${BUCKET}/user_balances/`)),
    });
    expect(metricValues(emfDocuments(lines), 'backup_rows_exported')).toContainEqual({
      value: 3,
      dimensions: expect.objectContaining({ table: 'user_balances' }),
    });
    const target = await freshDatabase();
    await restoreExport(result.data as string, { pool: target.pool, s3: () => s3.client, actor: 'test', forensic: true });
    expect(await contents(target, 'user_balances')).toEqual(await contents(source, 'user_balances'));
    await expect(handler({ table: 'audit_log' }, lambdaContext('payment-monitor-backup-export'))).rejects.toThrow(
      /a backup needs \{ "table"/,
    );
  });
});

describe('an incoming_payments backup taken during a rebuild', () => {
  it('exports the payments the rebuild holds aside beside the table, says so, and restores both tables as they were', async () => {
    const fixture = await createEngineFixture({ confirmations: 3 });
    scratch.push(fixture.db);
    const pool = fixture.db.pool;
    const addresses = Array.from({ length: 3 }, (_, i) => syntheticAddress('mainnet', `held-${i}`));
    await fixture.registry.register(
      addresses.map((address, i) => ({ address, referenceType: 'deposit', referenceId: `H-${i}`, userId: `holder-${i}` })),
      'test',
    );
    // Three payments, confirmed and credited: at heights 6, 8 and 12 of a chain 16 blocks long.
    const main = new ChainBuilder('main');
    main.empty(5);
    const refound = transaction([output(addresses[0]!, 1_000_000n)]);
    main.next([refound]);
    main.empty(1);
    const pendingAgain = transaction([output(addresses[1]!, 9_007_199_254_740_993n)]);
    main.next([pendingAgain]);
    main.empty(3);
    const notYetReached = transaction([output(addresses[2]!, 3_000_000n)]);
    main.next([notYetReached]);
    main.empty(4);
    await fixture.engine.apply(main.forward(main.blocks));
    const credited = async () =>
      (await pool.query(`SELECT payment_tx_hash FROM balance_transactions WHERE type = 'credit' ORDER BY payment_tx_hash`)).rows.map(
        (row) => row.payment_tx_hash as string,
      );
    expect(await credited()).toEqual([refound.id, pendingAgain.id, notYetReached.id].sort());

    // A rebuild from height 5, re-derived up to height 8: the first payment is confirmed again (settled), the second
    // is found again but still pending (its confirmed copy stays held), the third is not reached yet.
    const point = main.at(5n);
    await runRebuild(
      { point: `${point.slot}.${point.hash}` },
      {
        store: new PostgresRebuildStore(pool),
        logger: new RecordingLogger(),
        metrics: new InMemoryMetrics(),
        clock: { now: () => new Date() },
        actor: 'test',
      },
    );
    await fixture.engine.apply(main.forward(main.blocks.filter((block) => block.height > 5n && block.height <= 8n)));
    const held = async (db: TestDatabase) => (await db.pool.query('SELECT * FROM rebuild_held_payments ORDER BY id')).rows;
    expect((await held(fixture.db)).map((row) => [row.tx_hash, row.status])).toEqual([
      [pendingAgain.id, 'confirmed'],
      [notYetReached.id, 'confirmed'],
    ]);
    const runId = (await pool.query(`SELECT id FROM rebuild_runs WHERE status = 'running'`)).rows[0].id as bigint;

    const logger = new RecordingLogger();
    const exported = await exportBackup('incoming_payments', {
      pool,
      destination: s3Destination(s3.client, BUCKET),
      logger,
      metrics: new InMemoryMetrics(),
      clock: new FixedClock(new Date('2026-11-25T03:00:00Z')),
      stage: 'test',
    });
    const heldFile = 'incoming_payments-20261125T030000Z.rebuild_held_payments.ndjson.gz';
    expect(exported.manifest.held_by_rebuild).toEqual({
      rebuild_run_id: runId.toString(),
      data_file: heldFile,
      row_count: 2,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      bytes: expect.any(Number),
    });
    expect(logger.events('backup_held_by_rebuild')).toEqual([
      {
        level: 'warn',
        event: 'backup_held_by_rebuild',
        fields: expect.objectContaining({
          table: 'incoming_payments',
          rebuild_run_id: runId.toString(),
          held_rows: 2,
          location: `s3://${BUCKET}/incoming_payments/2026/11/25/${heldFile}`,
        }),
      },
    ]);
    expect(logger.events('backup_exported')[0]!.fields).toMatchObject({ held_by_rebuild_rows: 2 });

    // Every credited payment is in the export, in the table's file or beside it.
    const exportedLines = async (fileName: string) => {
      const read = readCompressed(await getObjectStream(s3.client, BUCKET, `incoming_payments/2026/11/25/${fileName}`));
      const rows: { tx_hash: string; status: string; amount_lovelace: string }[] = [];
      for await (const line of read.lines) rows.push(JSON.parse(line));
      return rows;
    };
    const tableRows = await exportedLines(exported.manifest.data_file);
    const heldRows = await exportedLines(heldFile);
    expect(tableRows.filter((row) => row.status === 'confirmed').map((row) => row.tx_hash)).toEqual([refound.id]);
    expect(tableRows.filter((row) => row.tx_hash === pendingAgain.id).map((row) => row.status)).toEqual(['pending']); // re-derived, same id as held
    expect(heldRows.map((row) => [row.tx_hash, row.status, row.amount_lovelace])).toEqual([
      [pendingAgain.id, 'confirmed', '9007199254740993'],
      [notYetReached.id, 'confirmed', '3000000'],
    ]);
    expect([...new Set([...tableRows, ...heldRows].filter((row) => row.status === 'confirmed').map((row) => row.tx_hash))].sort()).toEqual(
      await credited(),
    );

    // The restore reads the held payments beside the manifest and puts them back where they were.
    const target = await freshDatabase();
    const restored = await restoreExport(exported.manifestLocation, {
      pool: target.pool,
      s3: () => s3.client,
      actor: 'test:operator',
      forensic: true,
    });
    expect(restored).toMatchObject({ table: 'incoming_payments', rows: tableRows.length, heldByRebuildRows: 2 });
    expect(await contents(target, 'incoming_payments')).toEqual(await contents(fixture.db, 'incoming_payments'));
    expect(await held(target)).toEqual(await held(fixture.db));
    const audit = (await target.pool.query(`SELECT details FROM audit_log WHERE action = 'backup_restored'`)).rows[0].details;
    expect(audit).toMatchObject({ rows: tableRows.length, held_by_rebuild: { rows: 2, rebuild_run_id: runId.toString() } });
    // New ids come after the held payments' too (they keep their incoming_payments ids).
    const highestId = (
      await pool.query('SELECT max(id) AS id FROM (SELECT id FROM incoming_payments UNION ALL SELECT id FROM rebuild_held_payments) ids')
    ).rows[0].id as bigint;
    expect((await target.pool.query(`SELECT nextval('incoming_payments_id_seq') AS id`)).rows[0].id).toBe(highestId + 1n);

    // A restore without the held payments' file restores nothing.
    const second = await freshDatabase();
    const heldKey = `incoming_payments/2026/11/25/${heldFile}`;
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: heldKey }));
    await expect(restoreExport(exported.data, { pool: second.pool, s3: () => s3.client, actor: 'test', forensic: true })).rejects.toThrow(
      /does not exist/,
    );
    expect(
      (await second.pool.query('SELECT (SELECT count(*) FROM incoming_payments) + (SELECT count(*) FROM rebuild_held_payments) AS n'))
        .rows[0].n,
    ).toBe(0n);
  });
});
