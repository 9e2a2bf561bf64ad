/**
 * The one Lambda wrapper. Every entry point in this folder is `lambdaHandler(work)`: the wrapper adds the
 * invocation's context to the logger, counts a cold start, and publishes the metrics whatever the work does;
 * `lambdaPool` gives the instance's pool, opened on first use. The logger and metrics are created here, once per
 * instance, from the settings (functions/config/lambda-settings.ts).
 *
 * Our own few lines rather than middy with Powertools' middlewares: the handlers need exactly these steps in this
 * order, and a middleware engine would add a dependency and a layer to read for nothing more.
 */
import type { Context } from 'aws-lambda';
import type pg from 'pg';
import { createLambdaLogger } from '../adapters/powertools/logger.js';
import { createLambdaMetrics } from '../adapters/powertools/metrics.js';
import { createPool } from '../adapters/postgres/pool.js';
import { databaseConnection } from '../config/database-settings.js';
import { readDatabaseSettings, readObservabilitySettings } from '../config/lambda-settings.js';
import { once } from './lazy.js';

const observability = readObservabilitySettings();
/** The instance's logger and metrics, shared by the handler and everything it calls. */
export const logger = createLambdaLogger(observability);
export const metrics = createLambdaMetrics(observability);

export type LambdaHandler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

export function lambdaHandler<Event, Result>(work: LambdaHandler<Event, Result>): LambdaHandler<Event, Result> {
  return async (event, context) => {
    logger.addContext(context);
    metrics.captureColdStart(context.functionName);
    try {
      return await work(event, context);
    } finally {
      metrics.publish();
    }
  };
}

/**
 * The instance's pool, sized to what the function does at once. The settings are read now (at cold start, a
 * missing one is a clear error); the pool is opened on first use, and a failed open is tried again next time.
 */
export function lambdaPool(options: PoolSize): () => Promise<pg.Pool> {
  return once(poolOpener(options));
}

/** A new pool on each call, for work that ends its pool itself (the migrations custom resource). */
export function poolOpener(options: PoolSize): () => Promise<pg.Pool> {
  const database = readDatabaseSettings();
  return async () => createPool({ ...(await databaseConnection(database)), ...options });
}

interface PoolSize {
  max: number;
  applicationName: string;
}
