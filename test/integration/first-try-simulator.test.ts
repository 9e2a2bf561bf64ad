/**
 * `npm run simulator` as a newcomer meets it (issue 13, item 7): the defaults the README states (port 1337, a
 * block every 2 s after 300 blocks of history, as `npm start`), a slot clock that runs one slot a second whatever
 * the block time, and a start that fails (no fixtures outside the development layout, a bad setting, a busy
 * port) with one sentence and exit code 1 instead of a stack trace. The commands run as child processes.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { readSimulatorSettings } from '../../functions/config/local-settings.js';
import { startOgmiosSimulator, type OgmiosSimulator } from '../../functions/local/simulator/index.js';
import { freePort } from '../support/free-port.js';

const SIMULATOR = 'functions/local/simulator-main.ts';
/** The simulator's own variables cleared: what a newcomer without any gets. */
const CLEAN: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith('SIMULATOR_') && name !== 'CHAIN_FIXTURES_DIR' && name !== 'NETWORK'),
);

function simulatorRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', SIMULATOR, ...args],
      { env: { ...CLEAN, ...env }, timeout: 180_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

const started: OgmiosSimulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((simulator) => simulator.stop()));
});

describe('npm run simulator, first try', () => {
  it('has the defaults the README states: port 1337, a block every 2 s, 300 blocks of history', () => {
    expect(readSimulatorSettings({})).toMatchObject({ port: 1337, blockTimeMs: 2000, initialBlocks: 300, retainedBlocks: 10_000 });
  });

  it('starts with 300 blocks of history and says where it listens', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', SIMULATOR, '--port', String(port)], {
      env: CLEAN,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const ready = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`the simulator exited (${code}) before it was ready`)));
      });
      expect(ready).toMatch(new RegExp(`^ready ws://127\\.0\\.0\\.1:${port} blocks=300 bytes=\\d+$`));
    } finally {
      child.kill('SIGTERM');
    }
  }, 300_000);

  it('advances the slot one a second: a block every 2 s is 2 slots on, every 20 s 20 slots', async () => {
    for (const blockTimeMs of [2_000, 20_000]) {
      let now = Date.UTC(2026, 0, 15, 12);
      const clock = () => now;
      for (const initialBlocks of [0, 50]) {
        const simulator = await startOgmiosSimulator({
          network: 'preprod',
          initialBlocks,
          clock,
          transactionsPerBlock: { min: 1, max: 2 },
        });
        started.push(simulator);
        const slots: number[] = [];
        for (let block = 0; block < 8; block++) {
          now += blockTimeMs; // what the production timer waits between blocks
          simulator.produceBlocks(1);
          slots.push((simulator.tip() as { slot: number }).slot);
        }
        expect(slots.slice(1).map((slot, i) => slot - slots[i]!)).toEqual(Array(7).fill(blockTimeMs / 1000));
      }
    }
  });

  it('SIMULATOR_SOURCE=fixtures without the recorded fixtures: one sentence saying what to do, exit 1', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'no-fixtures-'));
    try {
      const result = await simulatorRun(['--port', '0'], { SIMULATOR_SOURCE: 'fixtures', CHAIN_FIXTURES_DIR: empty });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim()).toBe(
        `The simulator could not start: no recorded chain fixtures in ${empty} (no index.json there; they are not part of this repository): ` +
          'set CHAIN_FIXTURES_DIR to a folder of them (shared/chain-fixtures in the development layout), or use the synthetic source',
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }, 300_000);

  it('a bad setting or a busy port: said in one sentence, exit 1, no stack trace', async () => {
    const bad = await simulatorRun([], { SIMULATOR_BLOCK_TIME_MS: 'soon', SIMULATOR_RETAINED_BLOCKS: '0' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SIMULATOR_BLOCK_TIME_MS must be a whole number; got "soon"');
    expect(bad.stderr).toContain('SIMULATOR_RETAINED_BLOCKS must be a whole number ≥ 1; got "0"');
    expect(bad.stderr).not.toMatch(/^\s+at /m);

    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as AddressInfo).port;
      const taken = await simulatorRun(['--port', String(port)], { SIMULATOR_INITIAL_BLOCKS: '0' });
      expect(taken.code).toBe(1);
      expect(taken.stderr.trim()).toBe(
        `The simulator could not start: port ${port} is already in use: pass another with --port <port> (or SIMULATOR_PORT; 0 picks a free one)`,
      );
    } finally {
      busy.close();
    }
  }, 300_000);
});
