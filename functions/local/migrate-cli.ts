/** npm run migrate — applies the schema migrations to DATABASE_URL, or to the local embedded database. */
import { createPool } from '../adapters/postgres/pool.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { openLocalDatabase } from './local-database.js';

const database = await openLocalDatabase();
const pool = createPool({ connectionString: database.url, max: 1 });
try {
  const { applied } = await migrate(pool);
  console.log(
    applied.length === 0 ? `Schema is up to date (${database.description}).` : `Applied ${applied.join(', ')} to ${database.description}.`,
  );
} catch (error) {
  console.error(`Migration failed on ${database.description}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
  await database.stop();
}
