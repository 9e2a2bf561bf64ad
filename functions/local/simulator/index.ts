/**
 * An Ogmios-compatible simulator: a WebSocket JSON-RPC server speaking Ogmios v6 (chain sync, ledger-state
 * queries, transaction submission, /health) over a simulated Cardano chain that it produces itself, with
 * payments to chosen addresses, forks, and a ledger that follows the chain. It backs the local stack
 * (`npm start`) and the tests of everything that talks to Ogmios.
 *
 *   const simulator = await startOgmiosSimulator({ network: 'preprod', initialBlocks: 100, payTo: [{ address }] });
 *   simulator.produceBlocks(5);            // five more blocks, each paying `address`
 *   simulator.rollBack(2);                 // a fork: 2 blocks dropped, 3 new ones
 *   await simulator.stop();
 *
 * How it works, and where it differs from Ogmios (and why): README.md beside this file.
 */
import type { BlockSource } from './block-source.js';
import { ChainProducer } from './chain-producer.js';
import { FixtureBlockSource, defaultFixturesDirectory, selectFixtureBlocks } from './fixture-blocks.js';
import { resolveOptions, type OgmiosSimulatorOptions, type ResolvedOptions } from './options.js';
import { ProductionTimer } from './production-timer.js';
import { SeededRandom } from './random.js';
import { RunningSimulator, type OgmiosSimulator } from './running-simulator.js';
import { SimulatorServer } from './server.js';
import { AddressBook } from './synthetic-addresses.js';
import { AssetCatalog } from './synthetic-assets.js';
import { SyntheticBlockSource } from './synthetic-blocks.js';
import { SyntheticTransactions } from './synthetic-transactions.js';

export type { OgmiosSimulatorOptions } from './options.js';
export type { OgmiosSimulator, SimulatedBlockInfo, SimulatorLedger, RollBackOptions } from './running-simulator.js';
export type { BlockProducedEvent, RollbackEvent, ForkSettings } from './chain-producer.js';
export type { SimulatedPayment } from './injected-transactions.js';
export type { FundingTarget, PaymentTarget } from './synthetic-transactions.js';
export { PROTOCOL_PARAMETERS, minimumFee, minimumDeposit, type SimulatorProtocolParameters } from './protocol-parameters.js';
export type { SimulatorLedgerView, SimulatorUtxo, SimulatorBalance } from './ledger-reader.js';
export type { ChainPoint, ChainTip } from './simulated-chain.js';
export type { OutputReference } from './block-draft.js';
export { isLedgerSnapshotLine } from './ledger-snapshot.js';
export type { DropMode } from './server.js';

/** Builds the chain history, starts the server (and the production timer), and returns the handle. */
export async function startOgmiosSimulator(options: OgmiosSimulatorOptions = {}): Promise<OgmiosSimulator> {
  const settings = resolveOptions(options);
  const producer = createProducer(settings);
  if (settings.history && settings.history.length > 0) producer.restore(settings.history);
  else producer.produceHistory(settings.initialBlocks);
  producer.enableForks();

  const server = new SimulatorServer(
    {
      host: settings.host,
      port: settings.port,
      network: settings.network,
      maxInFlight: settings.maxInFlight,
      clock: settings.clock,
      apiKeys: settings.apiKeys,
    },
    producer,
  );
  const port = await server.listen();
  const timer = new ProductionTimer(settings.blockTimeMs, () => producer.produce(1));
  timer.start();
  return new RunningSimulator(settings.host, port, settings.network, producer, server, timer);
}

function createProducer(settings: ResolvedOptions): ChainProducer {
  // Independent streams, so that e.g. the fork schedule does not shift when blocks hold more transactions.
  const seed = settings.seed;
  const content = new SeededRandom(`${seed}:content`);
  const transactions = new SyntheticTransactions(
    content,
    new AddressBook(settings.network, new SeededRandom(`${seed}:addresses`)),
    new AssetCatalog(new SeededRandom(`${seed}:assets`)),
    settings.failedTransactionRate,
  );
  return new ChainProducer({
    network: settings.network,
    clock: settings.clock,
    source: createSource(settings, content, transactions),
    transactions,
    random: { content, ids: new SeededRandom(`${seed}:ids`), forks: new SeededRandom(`${seed}:forks`) },
    retention: { blocks: settings.retainedBlocks, bytes: settings.retainedBytes },
    payTo: settings.payTo,
    fund: settings.fund,
    paymentsPerBlock: settings.paymentsPerBlock,
    paymentSpendsPerBlock: settings.paymentSpendsPerBlock,
    forks: settings.forks,
  });
}

function createSource(settings: ResolvedOptions, random: SeededRandom, transactions: SyntheticTransactions): BlockSource {
  if (settings.source === 'synthetic') return new SyntheticBlockSource(random, transactions, settings.transactionsPerBlock);
  const directory = settings.fixturesDirectory ?? defaultFixturesDirectory();
  return new FixtureBlockSource(directory, selectFixtureBlocks(directory, settings.network));
}
