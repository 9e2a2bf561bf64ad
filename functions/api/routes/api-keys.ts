/** POST /v1/api-keys (the key shown once), GET /v1/api-keys, DELETE /v1/api-keys/{id}: admin only. */
import { insertApiKey, LastAdminKeyError, listApiKeys, revokeApiKey, TooManyActiveKeysError } from '../../adapters/postgres/api-keys.js';
import { generateApiKey, type Scope } from '../../domain/api-keys.js';
import { ApiLogEvent } from '../../domain/observability.js';
import { json, type RouteModule } from '../context.js';
import { cursorId, decodeCursor, DEFAULT_LIMIT, pageOf } from '../pagination.js';
import { ApiProblem, notFound } from '../problem.js';

export const apiKeyRoutes: RouteModule = {
  createApiKey: {
    kind: 'write',
    async handle(db, request, context) {
      const { name, scope } = request.body as { name: string; scope: Scope };
      const key = generateApiKey(context.network);
      try {
        const created = await insertApiKey(db, key, { name, scope, actor: request.principal.keyId });
        context.logger.info(ApiLogEvent.keyCreated, { key_id: created.id, scope, actor: request.principal.keyId });
        // The key is answered once; a replay of this response says null (only its hash is kept anywhere).
        return { ...json(201, { ...created, key: key.key }), storedBody: { ...created, key: null } };
      } catch (error) {
        if (!(error instanceof TooManyActiveKeysError)) throw error;
        throw new ApiProblem(409, error.message, [{ field: 'scope', message: 'already has two active keys' }]);
      }
    },
  },

  listApiKeys: {
    kind: 'read',
    async handle(request, context) {
      const limit = (request.query.limit as number | undefined) ?? DEFAULT_LIMIT;
      const position = decodeCursor(request.query.cursor, ['created_us', 'id']);
      const rows = await listApiKeys(context.pool, {
        limit: limit + 1,
        ...(position ? { after: { createdAtMicros: cursorId(position.created_us), id: position.id } } : {}),
      });
      return json(
        200,
        pageOf(
          rows,
          limit,
          (row) => row.key,
          (row) => row.position,
        ),
      );
    },
  },

  revokeApiKey: {
    kind: 'write',
    async handle(db, request) {
      const id = String(request.pathParams.id);
      try {
        const revoked = await revokeApiKey(db, id, request.principal.keyId);
        if (!revoked) throw notFound(`No API key ${id}.`);
        return json(200, revoked);
      } catch (error) {
        if (!(error instanceof LastAdminKeyError)) throw error;
        throw new ApiProblem(409, error.message, [{ field: 'id', message: 'is the last active admin key' }]);
      }
    },
  },
};
