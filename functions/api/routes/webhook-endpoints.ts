/**
 * Webhook endpoints: POST (the signing secret shown once), GET, GET {id}, DELETE, rotate-secret. The work is the
 * webhook functions' (functions/adapters/postgres/webhook-endpoints.ts), which audit every write themselves.
 */
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rotateWebhookSecret,
} from '../../adapters/postgres/webhook-endpoints.js';
import { type ApiContext, json, type RouteModule, type WebhookSettings } from '../context.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor } from '../pagination.js';
import { ApiProblem, notFound } from '../problem.js';
import { webhookProblem } from './events.js';

function settingsOf(context: ApiContext): WebhookSettings {
  if (!context.webhooks) throw new ApiProblem(501, 'Webhook secrets cannot be sealed here: no sealing key is configured.');
  return context.webhooks;
}

export const webhookEndpointRoutes: RouteModule = {
  createWebhookEndpoint: {
    kind: 'write',
    async handle(db, request, context) {
      const { sealer, allowPrivateDestinations } = settingsOf(context);
      const { url, events } = request.body as { url: string; events: string[] };
      try {
        const { endpoint, secret } = await createWebhookEndpoint(db, sealer, {
          url,
          events,
          actor: request.principal.keyId,
          allowPrivateDestinations,
        });
        // The secret is answered once; a replay of this response says null (it is kept sealed, never in clear).
        return { ...json(201, { ...endpoint, secret }), storedBody: { ...endpoint, secret: null } };
      } catch (error) {
        throw webhookProblem(error);
      }
    },
  },

  listWebhookEndpoints: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['id']);
      const page = await listWebhookEndpoints(context.pool, { ...(position ? { after: position.id } : {}), limit });
      return json(200, { data: page.endpoints, next_cursor: page.next_cursor === null ? null : encodeCursor({ id: page.next_cursor }) });
    },
  },

  getWebhookEndpoint: {
    kind: 'read',
    async handle(request, context) {
      const id = String(request.pathParams.id);
      const endpoint = await getWebhookEndpoint(context.pool, id);
      if (!endpoint) throw notFound(`No webhook endpoint ${id}.`);
      return json(200, endpoint);
    },
  },

  deleteWebhookEndpoint: {
    kind: 'write',
    async handle(db, request) {
      try {
        await deleteWebhookEndpoint(db, String(request.pathParams.id), request.principal.keyId);
        return { status: 204, headers: {} };
      } catch (error) {
        throw webhookProblem(error);
      }
    },
  },

  rotateWebhookSecret: {
    kind: 'write',
    async handle(db, request, context) {
      const { sealer } = settingsOf(context);
      const body = (request.body ?? {}) as { keep_old_for_seconds?: number };
      try {
        const { endpoint, secret } = await rotateWebhookSecret(db, sealer, String(request.pathParams.id), {
          actor: request.principal.keyId,
          ...(body.keep_old_for_seconds === undefined ? {} : { keepOldForSeconds: body.keep_old_for_seconds }),
        });
        return { ...json(200, { ...endpoint, secret }), storedBody: { ...endpoint, secret: null } };
      } catch (error) {
        throw webhookProblem(error);
      }
    },
  },
};
