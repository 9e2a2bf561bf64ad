/** The Ogmios client of the functions that query it on a schedule (health, hot wallet): its own module, so the
 * functions that never reach Ogmios (the processor among them) do not load the WebSocket client at cold start. */
import { LedgerStateClient } from '../adapters/ogmios/ledger-state-client.js';
import { ogmiosEndpoints, type OgmiosSettings } from '../config/ogmios-settings.js';
import { logger } from './lambda-handler.js';

/**
 * The instance's Ogmios ledger-state client, or undefined without OGMIOS_URL. Kept open between invocations (a
 * scheduled function runs once a minute, under Ogmios' 90 s idle limit) and reopened on demand when closed.
 */
export function lambdaLedgerClient(ogmios: OgmiosSettings | undefined, timeoutMs: number): LedgerStateClient | undefined {
  if (!ogmios) return undefined;
  return new LedgerStateClient({ ...ogmiosEndpoints(ogmios), logger, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs });
}
