/**
 * GET /v1/events?after=: the event log in order, for consumers that pull; POST /v1/events/{id}/redeliver. The reads
 * and writes are the outbox's and the webhooks' own (functions/adapters/postgres/business-events.ts,
 * webhook-endpoints.ts); the redelivery writes its audit row itself.
 */
import { listEvents } from '../../adapters/postgres/business-events.js';
import { redeliverEvent } from '../../adapters/postgres/webhook-endpoints.js';
import { WebhookNotFoundError, WebhookValidationError } from '../../domain/webhooks/validation-error.js';
import { json, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import { notFound, unprocessable } from '../problem.js';

/** The webhook functions' errors as problems: a refused field is 422 naming it, an unknown endpoint or event 404. */
export function webhookProblem(error: unknown): unknown {
  if (error instanceof WebhookValidationError) return unprocessable(error.message, [{ field: error.field, message: error.message }]);
  if (error instanceof WebhookNotFoundError) return notFound(error.message);
  return error;
}

export const eventRoutes: RouteModule = {
  listEvents: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.after, ['seq'], 'after');
      const afterSeq = position ? cursorId(position.seq, 'after') : 0n;
      const page = await listEvents(context.pool, { afterSeq, limit });
      // A feed: the cursor after the last event read (the same one when nothing is new), to poll again with.
      return json(200, { data: page.events, next_cursor: encodeCursor({ seq: page.lastSeq.toString() }) });
    },
  },

  redeliverEvent: {
    kind: 'write',
    async handle(db, request) {
      const body = (request.body ?? {}) as { endpoint_id?: string };
      try {
        const result = await redeliverEvent(db, String(request.pathParams.id), {
          ...(body.endpoint_id === undefined ? {} : { endpointId: body.endpoint_id }),
          actor: request.principal.keyId,
        });
        return json(202, result);
      } catch (error) {
        throw webhookProblem(error);
      }
    },
  },
};
