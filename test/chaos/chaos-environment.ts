/**
 * The servers a series of chaos runs shares: PostgreSQL (DATABASE_URL, or an embedded server) with a migrated
 * template each run clones, dynalite with the lease table, local-aws-sqs and s3rver with the claim-check bucket.
 */
import { randomBytes } from 'node:crypto';
import { createLeaseTable } from '../../functions/adapters/dynamodb/lease-table.js';
import { migrate } from '../../functions/adapters/postgres/migrate.js';
import { createPool } from '../../functions/adapters/postgres/pool.js';
import { startLocalPostgres, type LocalPostgres } from '../../functions/local/embedded-postgres.js';
import { startDynalite } from '../support/dynalite.js';
import { withAdmin, withDatabase } from '../support/global-setup.js';
import { startLocalS3, startLocalSqs } from '../support/local-aws.js';
import type { ChaosEnvironment } from './chaos-run.js';

export interface StartedChaosEnvironment extends ChaosEnvironment {
  close(): Promise<void>;
}

/** Starts the servers; with `database`, runs on that server and template (a test run's) instead of its own. */
export async function startChaosEnvironment(database?: { adminUrl: string; templateDatabase: string }): Promise<StartedChaosEnvironment> {
  let server: LocalPostgres | undefined;
  let adminUrl = database?.adminUrl ?? process.env.DATABASE_URL;
  if (!adminUrl) {
    server = await startLocalPostgres({ dataDir: `.data/chaos-pg-${process.pid}`, persistent: false, fast: true });
    adminUrl = server.url;
  }
  let templateDatabase = database?.templateDatabase;
  if (!templateDatabase) {
    templateDatabase = `pm_chaos_template_${randomBytes(4).toString('hex')}`;
    await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${templateDatabase}`));
    const pool = createPool({ connectionString: withDatabase(adminUrl, templateDatabase), max: 1 });
    await migrate(pool);
    await pool.end();
  }
  // Receives that return as soon as a message is there, as SQS's do: the pump keeps pace with the senders.
  const [dynamo, sqs, s3] = await Promise.all([startDynalite(), startLocalSqs({ receive: 'prompt' }), startLocalS3()]);
  await createLeaseTable(dynamo.client(), 'follower-leases');
  const bucket = 'chaos-claim-checks';
  await s3.createBucket(bucket);
  const ownTemplate = database?.templateDatabase === undefined;
  return {
    adminUrl,
    templateDatabase,
    dynamo,
    sqs,
    s3,
    bucket,
    async close() {
      await Promise.all([dynamo.stop(), sqs.close(), s3.close()]);
      if (ownTemplate)
        await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${templateDatabase} WITH (FORCE)`)).catch(
          () => undefined,
        );
      await server?.stop();
    },
  };
}
