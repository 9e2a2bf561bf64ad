/**
 * The OpenAPI document (openapi.json) is the API's source of truth: the operations the router serves, their
 * scopes (x-scope), and the validation of every request (path, query, headers, body) and response come from it.
 * The validators are compiled once per process, each on its first use (ajv, JSON Schema 2020-12, which OpenAPI 3.1
 * schemas are).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import document from './openapi.json' with { type: 'json' };
import { type FieldError, badRequest } from './problem.js';
import { SCOPES, type Scope } from './types.js';

export const OPENAPI_DOCUMENT: unknown = document;

const DOCUMENT_ID = 'https://payment-monitor.local/openapi.json';
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: Record<string, unknown>;
}

interface OperationObject {
  operationId: string;
  'x-scope': Scope;
  parameters?: (ParameterObject | { $ref: string })[];
  requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
}

/** One operation of the document, with its compiled validators. */
export interface Operation {
  operationId: string;
  method: string;
  /** The path template, e.g. /v1/payments/{tx_hash}/{output_index}. */
  pathTemplate: string;
  scope: Scope;
  /** Header names (lower case) the operation requires. */
  requiredHeaders: string[];
  /** The operation takes a JSON body. */
  acceptsBody: boolean;
  validatePath(params: Record<string, string>): Record<string, string | number>;
  validateQuery(query: Record<string, string[]>): Record<string, unknown>;
  /** The parsed body; undefined when none was sent and none is required. */
  validateBody(rawBody: string): unknown;
  /** The problems of a response against the document; empty when it conforms. */
  responseProblems(status: number, body: unknown): string[];
}

function newAjv(coerceTypes: boolean): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, coerceTypes, strict: true, strictRequired: false, useDefaults: coerceTypes });
  // The document's own keywords, so it can be added whole and its components referenced by JSON pointer.
  ajv.addVocabulary(['openapi', 'info', 'servers', 'security', 'paths', 'components', 'x-scope']);
  ajv.addFormat('date-time', {
    type: 'string',
    validate: (text: string) =>
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text) && !Number.isNaN(Date.parse(text)),
  });
  ajv.addSchema({ ...(document as object), $id: DOCUMENT_ID });
  return ajv;
}

/** Schemas inside the document refer to '#/components/…': relative to the document once it is added by its id. */
function rebase(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${DOCUMENT_ID}${value}` : rebase(value),
    ]),
  );
}

function resolveParameter(parameter: ParameterObject | { $ref: string }): ParameterObject {
  if (!('$ref' in parameter)) return parameter;
  const name = parameter.$ref.replace('#/components/parameters/', '');
  const found = (document.components.parameters as Record<string, ParameterObject>)[name];
  if (!found) throw new Error(`openapi.json: unknown parameter ${parameter.$ref}`);
  return found;
}

/** An ajv error as the field it names and what is wrong with it. */
export function fieldErrors(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors ?? []) {
    if (error.keyword === 'if') continue; // the branch's own errors say what is wrong
    const segments = error.instancePath.split('/').slice(1);
    if (error.keyword === 'required') segments.push(String(error.params.missingProperty));
    if (error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties') {
      segments.push(String(error.params.additionalProperty ?? error.params.unevaluatedProperty));
    }
    const field = segments.reduce(
      (path, segment) => (/^\d+$/.test(segment) ? `${path}[${segment}]` : path ? `${path}.${segment}` : segment),
      prefix,
    );
    const message =
      error.keyword === 'additionalProperties' || error.keyword === 'unevaluatedProperties'
        ? 'is not allowed'
        : error.keyword === 'required'
          ? 'is required'
          : (error.message ?? 'is invalid');
    if (!result.some((known) => known.field === field && known.message === message)) result.push({ field: field || 'body', message });
  }
  return result;
}

function compileOperation(
  strictAjv: Ajv2020,
  coercingAjv: Ajv2020,
  pathTemplate: string,
  method: string,
  operation: OperationObject,
): Operation {
  if (!SCOPES.includes(operation['x-scope'])) throw new Error(`openapi.json: ${operation.operationId} has no valid x-scope`);
  const parameters = (operation.parameters ?? []).map(resolveParameter);
  const objectSchema = (where: ParameterObject['in']) => {
    const own = parameters.filter((parameter) => parameter.in === where);
    return {
      type: 'object',
      properties: Object.fromEntries(own.map((parameter) => [parameter.name, rebase(parameter.schema)])),
      required: own.filter((parameter) => parameter.required || where === 'path').map((parameter) => parameter.name),
      additionalProperties: false,
    };
  };
  // Each validator is compiled on its first use and kept for the process (a cold start compiles only what it serves).
  const pathValidator = lazy(() => coercingAjv.compile(objectSchema('path')));
  const queryValidator = lazy(() => coercingAjv.compile(objectSchema('query')));
  const arrayQueryParameters = new Set(parameters.filter((p) => p.in === 'query' && p.schema.type === 'array').map((p) => p.name));
  const bodySchema = operation.requestBody?.content['application/json']?.schema;
  const bodyValidator = bodySchema === undefined ? undefined : lazy(() => strictAjv.compile(rebase(bodySchema) as object));
  const responseValidators = new Map<number, (() => ValidateFunction) | null>();
  for (const [status, response] of Object.entries(operation.responses)) {
    const content = response.content ?? {};
    const schema = content['application/json']?.schema ?? content['application/problem+json']?.schema;
    responseValidators.set(Number(status), schema === undefined ? null : lazy(() => strictAjv.compile(rebase(schema) as object)));
  }

  return {
    operationId: operation.operationId,
    method: method.toUpperCase(),
    pathTemplate,
    scope: operation['x-scope'],
    requiredHeaders: parameters.filter((p) => p.in === 'header' && p.required).map((p) => p.name.toLowerCase()),
    acceptsBody: bodySchema !== undefined,
    validatePath(params) {
      const value: Record<string, unknown> = { ...params };
      const validate = pathValidator();
      if (!validate(value)) throw badRequest('A path parameter is invalid.', fieldErrors(validate.errors));
      return value as Record<string, string | number>;
    },
    validateQuery(query) {
      const value: Record<string, unknown> = {};
      const repeated: FieldError[] = [];
      for (const [name, values] of Object.entries(query)) {
        if (arrayQueryParameters.has(name)) value[name] = values;
        else if (values.length > 1) repeated.push({ field: name, message: 'must be given once' });
        else value[name] = values[0];
      }
      if (repeated.length > 0) throw badRequest('A query parameter is invalid.', repeated);
      const validate = queryValidator();
      if (!validate(value)) throw badRequest('A query parameter is invalid.', fieldErrors(validate.errors));
      return value;
    },
    validateBody(rawBody) {
      if (!bodyValidator) {
        if (rawBody.trim() !== '') throw badRequest('This operation takes no body.', [{ field: 'body', message: 'must be empty' }]);
        return undefined;
      }
      if (rawBody.trim() === '') {
        if (operation.requestBody?.required) throw badRequest('A JSON body is required.', [{ field: 'body', message: 'is required' }]);
        return undefined;
      }
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        throw badRequest('The body is not valid JSON.', [{ field: 'body', message: 'must be valid JSON' }]);
      }
      const validate = bodyValidator();
      if (!validate(body)) throw badRequest('The body is invalid.', fieldErrors(validate.errors));
      return body;
    },
    responseProblems(status, body) {
      if (!responseValidators.has(status)) return [`status ${status} is not a documented response of ${operation.operationId}`];
      const validator = responseValidators.get(status)?.();
      if (!validator) return body === undefined ? [] : [`${operation.operationId} ${status} has no body in the document`];
      if (validator(body)) return [];
      return fieldErrors(validator.errors).map((error) => `${error.field} ${error.message}`);
    },
  };
}

function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= build();
    return value;
  };
}

let compiled: Operation[] | undefined;

/** Every operation of the document, compiled on first use and kept for the process. */
export function documentOperations(): Operation[] {
  if (compiled) return compiled;
  const strictAjv = newAjv(false);
  const coercingAjv = newAjv(true);
  const operations: Operation[] = [];
  for (const [pathTemplate, item] of Object.entries(document.paths as Record<string, Record<string, OperationObject>>)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) operations.push(compileOperation(strictAjv, coercingAjv, pathTemplate, method, operation));
    }
  }
  compiled = operations;
  return operations;
}
