/**
 * HTTP API Lambda (API Gateway REST proxy): the same router as the local server (functions/api), responses not
 * re-validated here (the tests hold every route to openapi.json). Webhook signing secrets are sealed with the key in
 * WEBHOOK_SECRETS_KEY_SECRET_ARN, as the deliverer unseals them. The work is in api-core.ts.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { AesGcmSecretSealer, secretsManagerKey } from '../adapters/crypto/aes-gcm-sealer.js';
import { CachedSecret } from '../adapters/secrets/cached-secret.js';
import { secretsManagerReader } from '../adapters/secrets/secret-reader.js';
import { createApiApp } from '../api/app.js';
import { readApiSettings } from '../config/lambda-settings.js';
import { handleApiEvent } from './api-core.js';
import { lambdaHandler, lambdaPool, logger, metrics } from './lambda-handler.js';
import { once } from './lazy.js';

const settings = readApiSettings();

// A few connections: an invocation runs one request, but a write holds one while a read may take another.
const pool = lambdaPool({ max: 2, applicationName: 'payment-monitor-api' });

const sealer = settings.webhookSecretsKeySecretArn
  ? new AesGcmSecretSealer(
      secretsManagerKey(new CachedSecret({ secretId: settings.webhookSecretsKeySecretArn, readSecret: secretsManagerReader() })),
    )
  : undefined;

const app = once(async () =>
  createApiApp({
    pool: await pool(),
    network: settings.network,
    logger,
    metrics,
    validateResponses: false,
    invoices: settings.invoices,
    payouts: settings.payouts,
    ...(sealer ? { webhooks: { sealer, allowPrivateDestinations: settings.allowPrivateDestinations } } : {}),
  }),
);

export const handler = lambdaHandler<APIGatewayProxyEvent, APIGatewayProxyResult>(async (event) =>
  handleApiEvent(event, await app(), settings.iamCallers),
);
