/**
 * Reads a JSON secret from AWS Secrets Manager, once per cold start. Lambdas need this (ECS injects secrets
 * into the container's environment by itself; Lambda does not). Errors name the secret, never its content.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A secret's fields by name; the RDS and Ogmios secrets are flat JSON objects. */
export type SecretFields = Readonly<Record<string, unknown>>;
export type SecretReader = (secretId: string) => Promise<SecretFields>;

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

export function secretsManagerReader(client: SecretsManagerClient = new SecretsManagerClient({})): SecretReader {
  return async (secretId) => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (SecretString === undefined) throw new SecretError(`Secret ${secretId} has no string value`);
    return parseSecretFields(secretId, SecretString);
  };
}

export function parseSecretFields(secretId: string, text: string): SecretFields {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SecretError(`Secret ${secretId} is not a JSON object`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SecretError(`Secret ${secretId} is not a JSON object`);
  return value as SecretFields;
}

export function requireStringField(secretId: string, fields: SecretFields, name: string): string {
  const value = fields[name];
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value !== 'string' || value === '') throw new SecretError(`Secret ${secretId} has no "${name}" field`);
  return value;
}
