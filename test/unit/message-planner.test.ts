import { describe, expect, it } from 'vitest';
import { decodeChainEventMessage } from '../../functions/domain/chain-event-message.js';
import type { ChainEvent } from '../../functions/domain/chain.js';
import { planMessages } from '../../functions/adapters/sqs/message-planner.js';
import { ChainBuilder, output, transaction } from '../support/chain-builder.js';
import { Random } from '../support/random.js';

/** Addresses with quotes, backslashes and characters of 2, 3 and 4 UTF-8 bytes: what escaping and counting must get right. */
const ADDRESSES = ['addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3', 'DdzFF"odd\\address', 'addr_test1ünïcødé✓', 'addr1😀x'];

function randomEvents(random: Random): ChainEvent[] {
  const chain = new ChainBuilder(`planner-${random.seed}`);
  const events: ChainEvent[] = [];
  for (let n = random.int(1, 30); n > 0; n--) {
    const outputs = Array.from({ length: random.int(0, 40) }, () => output(random.pick(ADDRESSES), BigInt(random.int(1, 1e9))));
    events.push(chain.forward([chain.next(outputs.length > 0 ? [transaction(outputs)] : [])]));
    if (random.chance(0.1) && chain.blocks.length > 2) events.push(chain.backward(BigInt(chain.blocks.length - 1)));
  }
  return events;
}

describe('message planner', () => {
  it("knows each body's size in bytes without measuring it again, and numbers the steps it holds (200 seeded cases)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = new Random(seed);
      const events = randomEvents(random);
      const firstStep = BigInt(random.int(1, 1000));
      const planned = planMessages(
        events,
        { network: 'mainnet', fence: 3n, generation: 2n, firstStep },
        {
          maxBodyBytes: random.int(2_000, 60_000),
          maxBlocksPerMessage: random.int(1, 12),
        },
      );
      let step = firstStep;
      for (const message of planned) {
        expect(message.bodyBytes, `seed ${seed}: ${message.summary}`).toBe(Buffer.byteLength(message.body, 'utf8'));
        const decoded = decodeChainEventMessage(message.body);
        expect(decoded.steps, `seed ${seed}`).toEqual({
          first: step,
          last: step + BigInt(message.type === 'rollForward' ? message.blocks : 1) - 1n,
        });
        step = decoded.steps.last + 1n;
      }
    }
  });
});
