/**
 * `npm run cli -- simulate …` against a real simulator: a payment to any valid address lands in the next block
 * with the exact amount and tokens, a fork with --drop-transactions takes it away, and bad input is refused with a
 * message naming what is wrong (nothing queued).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateCommand } from '../../functions/local/cli/simulate-commands.js';
import { CliUsageError } from '../../functions/local/cli/cli-usage-error.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { syntheticAddress } from '../../functions/local/synthetic/addresses.js';

describe('simulate pay / simulate fork', () => {
  let simulator: OgmiosSimulator;
  const address = syntheticAddress('preprod', 'walkthrough-customer');
  const lines: string[] = [];
  const io = () => ({ write: (text: string) => lines.push(text), json: true, ogmios: () => ({ urls: [simulator.url], apiKeys: [] }) });

  beforeAll(async () => {
    simulator = await startOgmiosSimulator({ network: 'preprod', initialBlocks: 20, transactionsPerBlock: { min: 1, max: 2 } });
  });
  afterAll(() => simulator.stop());

  it('pays an address in the next block, exactly, tokens included; a fork that drops its transactions takes it away', async () => {
    const policy = 'ab'.repeat(28);
    const code = await simulateCommand(
      ['simulate', 'pay', address],
      { ada: '12.345678', asset: [`${policy}.4d59=18446744073709551615`] },
      io(),
    );
    expect(code).toBe(0);
    const queued = JSON.parse(lines.at(-1) as string) as { tx_hash: string; output_index: number; lovelace: string };
    expect(queued.lovelace).toBe('12345678');
    expect(simulator.ledger.utxosAt(address)).toEqual([]);

    simulator.produceBlocks(1);
    expect(simulator.ledger.utxosAt(address)).toEqual([
      expect.objectContaining({
        txId: queued.tx_hash,
        index: queued.output_index,
        lovelace: 12_345_678n,
        assets: [{ policyId: policy, assetName: '4d59', quantity: 2n ** 64n - 1n }],
      }),
    ]);

    const heightBefore = (simulator.tip() as { height: number }).height;
    expect(await simulateCommand(['simulate', 'fork'], { depth: '1', 'drop-transactions': true }, io())).toBe(0);
    expect(JSON.parse(lines.at(-1) as string)).toEqual({ depth: 1, tip_height: heightBefore + 1 });
    expect(simulator.ledger.utxosAt(address)).toEqual([]);
  });

  it('a fork --before a transaction drops exactly the blocks from the one that carries it', async () => {
    await simulateCommand(['simulate', 'pay', address], { ada: '3' }, io());
    const { tx_hash: txHash } = JSON.parse(lines.at(-1) as string);
    simulator.produceBlocks(4);
    const carrier = (simulator.tip() as { height: number }).height - 3;
    await simulateCommand(['simulate', 'fork'], { before: txHash, 'drop-transactions': true }, io());
    expect(JSON.parse(lines.at(-1) as string)).toEqual({ depth: 4, tip_height: carrier + 4 });
    expect(simulator.ledger.utxosAt(address).some((utxo) => utxo.txId === txHash)).toBe(false);
    await expect(simulateCommand(['simulate', 'fork'], { before: txHash }, io())).rejects.toThrow(/none of the retained blocks/);
  });

  it('a fork keeping its transactions puts the payment back in the new branch', async () => {
    await simulateCommand(['simulate', 'pay', address], { ada: '1' }, io());
    simulator.produceBlocks(2);
    expect(simulator.ledger.utxosAt(address)).toHaveLength(1);
    await simulateCommand(['simulate', 'fork'], { depth: '2' }, io());
    expect(simulator.ledger.utxosAt(address)).toHaveLength(1);
  });

  it('refuses what it cannot do, naming the field, and queues nothing', async () => {
    await expect(simulateCommand(['simulate', 'pay', address], { ada: '1.2345678' }, io())).rejects.toThrow(CliUsageError);
    await expect(simulateCommand(['simulate', 'pay', address], { ada: '1', asset: ['xyz=1'] }, io())).rejects.toThrow(/--asset/);
    await expect(simulateCommand(['simulate', 'pay', 'addr1notanaddress'], { ada: '1' }, io())).rejects.toThrow(/params\.address/);
    await expect(simulateCommand(['simulate', 'pay', syntheticAddress('mainnet', 'x')], { ada: '1' }, io())).rejects.toThrow(
      /params\.address/,
    );
    await expect(simulateCommand(['simulate', 'fork'], { depth: '100000' }, io())).rejects.toThrow(/params\.depth/);
    await expect(simulateCommand(['simulate', 'fork'], {}, io())).rejects.toThrow(/--depth/);
    const before = simulator.tip();
    simulator.produceBlocks(1);
    expect(simulator.chain().at(-1)?.height).toBe((before as { height: number }).height + 1);
    expect(simulator.ledger.utxosAt(address)).toHaveLength(1);
  });
});
