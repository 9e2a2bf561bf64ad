/**
 * The Lambda's logger and metrics, created once per instance (at cold start) from the environment and shared by
 * the handler and everything it calls. Imported only by handlers: tests build their own with the factories.
 */
import { createLambdaLogger } from './logger.js';
import { createLambdaMetrics } from './metrics.js';
import { readObservabilitySettings } from './settings.js';

const settings = readObservabilitySettings(process.env);

export const logger = createLambdaLogger(settings);
export const metrics = createLambdaMetrics(settings);
