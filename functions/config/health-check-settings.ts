/** The follower container's health check: only the port its health server listens on. */
import { processEnvironment, type Environment } from './environment.js';
import { SettingsReader } from './settings-reader.js';
import { HEALTH_PORT } from './variables.js';

export function readHealthCheckSettings(env: Environment = processEnvironment()): { port: number } {
  const reader = new SettingsReader(env);
  const port = reader.read(HEALTH_PORT);
  reader.finish('health check');
  return { port };
}
