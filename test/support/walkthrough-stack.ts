/**
 * The local stack as the README's walkthroughs run it, for the tests that follow them: its own database, preprod,
 * the simulator producing blocks only when the test says (20 blocks of history, few transactions, no forks of its
 * own), CONFIRMATIONS 3, following from origin (the engine then holds every block: any fork stays within reach),
 * free ports and an admin key. `stop()` removes everything it made.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LocalStackSettings } from '../../functions/config/local-settings.js';
import type { Logger } from '../../functions/domain/ports.js';
import type { OgmiosSimulatorOptions } from '../../functions/local/simulator/index.js';
import { type LocalStack, startLocalStack } from '../../functions/local/stack.js';
import { createTestDatabase } from './database.js';
import { RecordingLogger } from './recorders.js';

export interface WalkthroughStack {
  stack: LocalStack;
  /** The API's URL (http://127.0.0.1:<port>). */
  api: string;
  /** The scratch folder of this stack's files (journal, keys). */
  scratch: string;
  stop(): Promise<void>;
}

export interface WalkthroughStackOptions {
  /** Names the scratch files. */
  name: string;
  adminKey: string;
  config?: Partial<LocalStackSettings>;
  simulator?: Partial<OgmiosSimulatorOptions>;
  demoInvoices?: boolean;
  logger?: Logger;
}

export async function startWalkthroughStack(options: WalkthroughStackOptions): Promise<WalkthroughStack> {
  const db = await createTestDatabase();
  process.env.DATABASE_URL = db.url;
  const scratch = path.join(tmpdir(), `${options.name}-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  try {
    const stack = await startLocalStack({
      config: {
        network: 'preprod',
        ogmios: 'simulator',
        confirmations: 3,
        startPoint: 'origin',
        healthPort: 0,
        apiPort: 0,
        bootstrapApiKey: options.adminKey,
        payoutExecution: { keyFile: path.join(scratch, 'payout-signer.key'), validitySeconds: 3600, resubmitAfterSeconds: 3600 },
        ...options.config,
      },
      logger: options.logger ?? new RecordingLogger(),
      simulatorJournal: path.join(scratch, 'journal.jsonl'),
      webhookKeyFile: path.join(scratch, 'webhook.key'),
      demoInvoices: options.demoInvoices ?? false,
      simulator: {
        blockTimeMs: 0,
        initialBlocks: 20,
        paymentsPerBlock: 0,
        forks: undefined,
        transactionsPerBlock: { min: 1, max: 3 },
        ...options.simulator,
      },
    });
    return {
      stack,
      api: `http://127.0.0.1:${stack.apiPort}`,
      scratch,
      async stop() {
        await stack.stop();
        await db.drop();
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await db.drop();
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}
