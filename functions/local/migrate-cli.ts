/** npm run migrate — applies the schema migrations to DATABASE_URL, or to the local embedded database. */
import { createPool } from '../adapters/postgres/pool.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { openLocalDatabase, type LocalDatabase } from './local-database.js';

// Next to a running `npm start`, like the CLI: its server, rather than a refusal to start a second one.
let database: LocalDatabase | undefined;
try {
  database = await openLocalDatabase({ attachToRunning: true });
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
if (database) {
  const pool = createPool({ connectionString: database.url, max: 1 });
  try {
    const { applied } = await migrate(pool);
    console.log(
      applied.length === 0
        ? `Schema is up to date (${database.description}).`
        : `Applied ${applied.join(', ')} to ${database.description}.`,
    );
  } catch (error) {
    console.error(`Migration failed on ${database.description}: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await pool.end();
    await database.stop();
  }
}
