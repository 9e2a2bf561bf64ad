import type { ChainEvent } from '../../functions/domain/chain.js';
import { stepsOf } from '../../functions/domain/chain-event-message.js';
import type { PaymentEngine } from '../../functions/domain/payment-engine.js';
import type { ChainEventEmitter, EmissionStamp } from '../../functions/domain/chain-event-emitter.js';

/**
 * An emitter that applies each event straight to an engine, stamped with its session and its steps as a message
 * would carry them: the undisturbed reference run of the end-to-end and chaos tests.
 */
export function directEmitter(engine: Pick<PaymentEngine, 'apply'>): ChainEventEmitter {
  return {
    async emit(events: readonly ChainEvent[], stamp: EmissionStamp) {
      let first = stamp.firstStep;
      for (const event of events) {
        const last = first + BigInt(stepsOf(event)) - 1n;
        await engine.apply(event, { token: stamp.fence, generation: stamp.generation, steps: { first, last } });
        first = last + 1n;
      }
    },
  };
}
