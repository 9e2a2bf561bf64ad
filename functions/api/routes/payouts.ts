/**
 * POST /v1/payouts (write: one live payout per reference_id, policy, held balance, approved at once at or below the
 * threshold, all in the request's transaction), GET /v1/payouts/{id}, GET /v1/payouts?status=…&reference_id=…&user_id=… (newest first), and POST
 * /v1/payouts/{id}/approve (four eyes), /cancel (until signed), /reject. The actor is the calling key
 * (`api_key:<id>`; an IAM caller `iam:<role ARN>`). The resource is payoutResource(), the object the events carry.
 */
import {
  approvePayout,
  cancelPayout,
  listPayouts,
  PayoutNotFoundError,
  PayoutReferenceInUseError,
  payoutFromRow,
  readPayout,
  rejectPayout,
  requestPayout,
} from '../../adapters/postgres/payout-requests.js';
import type { AmountRequest } from '../../domain/invoices/invoice-creation.js';
import { PayoutRequestLogEvent, PayoutRequestMetric } from '../../domain/observability.js';
import { payoutLovelace, payoutResource } from '../../domain/payouts/payout-resource.js';
import { apiKeyActor, PayoutRefusal, PayoutRequestError, type PayoutStatus } from '../../domain/payouts/payout-rules.js';
import type { ApiContext } from '../context.js';
import { json, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { ApiProblem, notFound, unprocessable } from '../problem.js';
import type { RouteRequest } from '../types.js';
import { problemType } from './invoices.js';

interface PayoutBody {
  reference_id: string;
  destination: string;
  amount: AmountRequest;
  user_id?: string | null;
}

/** Who acts: the API key, or the IAM role the caller was mapped to. */
export function actorOf(request: RouteRequest): string {
  return request.principal.source === 'iam' ? `iam:${request.principal.keyId}` : apiKeyActor(request.principal.keyId);
}

/** A refusal of the rules as the API answers it (a limit also logged as a warning: the alarm counts those lines). */
function answerRefusal(error: unknown, context: ApiContext, detail: Record<string, unknown>): never {
  if (error instanceof PayoutRequestError) throw unprocessable(error.message, error.problems);
  if (error instanceof PayoutNotFoundError) throw notFound(error.message);
  if (error instanceof PayoutReferenceInUseError) {
    throw new ApiProblem(409, error.message, [{ field: 'reference_id', message: 'reference_in_use' }], problemType('reference_in_use'));
  }
  if (error instanceof PayoutRefusal) {
    if (error.code === 'payout_limit_reached' || error.code === 'daily_limit_reached') {
      context.logger.warn(PayoutRequestLogEvent.limitReached, { limit: error.code, reason: error.message, ...detail });
      if (error.code === 'daily_limit_reached') context.metrics?.count(PayoutRequestMetric.dailyLimitReached);
    }
    throw new ApiProblem(
      error.status,
      error.message,
      error.field === undefined ? undefined : [{ field: error.field, message: error.code }],
      problemType(error.code),
    );
  }
  throw error;
}

function reasonOf(request: RouteRequest): string | undefined {
  return (request.body as { reason?: string } | undefined)?.reason;
}

export const payoutRoutes: RouteModule = {
  createPayout: {
    kind: 'write',
    async handle(db, request, context) {
      const body = request.body as PayoutBody;
      const actor = actorOf(request);
      try {
        const payout = await requestPayout(
          db,
          { referenceId: body.reference_id, userId: body.user_id ?? null, destination: body.destination, amount: body.amount, actor },
          { network: context.network, policy: context.payouts, now: context.clock.now() },
        );
        context.logger.info(PayoutRequestLogEvent.requested, {
          payout_id: payout.id,
          actor,
          lovelace: payoutLovelace(payout).toString(),
          status: payout.status,
        });
        return json(201, payoutResource(payout));
      } catch (error) {
        return answerRefusal(error, context, { actor, lovelace: body.amount?.lovelace ?? '0' });
      }
    },
  },

  approvePayout: {
    kind: 'write',
    async handle(db, request, context) {
      const id = String(request.pathParams.id);
      try {
        return json(200, payoutResource(await approvePayout(db, id, actorOf(request), context.payouts, context.clock.now())));
      } catch (error) {
        return answerRefusal(error, context, { payout_id: id });
      }
    },
  },

  cancelPayout: {
    kind: 'write',
    async handle(db, request, context) {
      const id = String(request.pathParams.id);
      try {
        return json(200, payoutResource(await cancelPayout(db, id, actorOf(request), reasonOf(request), context.clock.now())));
      } catch (error) {
        return answerRefusal(error, context, { payout_id: id });
      }
    },
  },

  rejectPayout: {
    kind: 'write',
    async handle(db, request, context) {
      const id = String(request.pathParams.id);
      try {
        return json(200, payoutResource(await rejectPayout(db, id, actorOf(request), reasonOf(request), context.clock.now())));
      } catch (error) {
        return answerRefusal(error, context, { payout_id: id });
      }
    },
  },

  getPayout: {
    kind: 'read',
    async handle(request, context) {
      const id = String(request.pathParams.id);
      const payout = await readPayout(context.pool, id);
      if (!payout) throw notFound(`No payout ${id}.`);
      return json(200, payoutResource(payout));
    },
  },

  listPayouts: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['created_us', 'id']);
      const rows = await listPayouts(
        context.pool,
        {
          ...(request.query.status === undefined ? {} : { status: request.query.status as PayoutStatus }),
          ...(request.query.reference_id === undefined ? {} : { referenceId: String(request.query.reference_id) }),
          ...(request.query.user_id === undefined ? {} : { userId: String(request.query.user_id) }),
        },
        limit,
        position ? { createdUs: cursorId(position.created_us), id: position.id } : undefined,
      );
      return json(
        200,
        pageOf(
          rows,
          limit,
          (row) => payoutResource(payoutFromRow(row)),
          (row) => ({ created_us: row.created_us.toString(), id: row.id }),
        ),
      );
    },
  },
};
