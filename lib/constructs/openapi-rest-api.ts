import { readFileSync } from 'node:fs';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  Integration,
  IntegrationType,
  LogGroupLogDestination,
  MethodLoggingLevel,
  ResponseType,
  RestApi,
  type IAuthorizer,
  type Method,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, ArnPrincipal, Effect, PolicyDocument, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { iamPrincipalProblems, type IamPrincipal } from '../../functions/domain/iam-callers.js';
import { acknowledgeNag } from '../nag.js';

/** The operations of an OpenAPI path item API Gateway can serve (`trace` it cannot). */
export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Every path of the document starts here: the version is in the path, so a /v2 can live beside it. */
export const API_PATH_PREFIX = '/v1';

/** The security schemes of the document each front door serves: API keys (Lambda authorizer) or SigV4 (AWS_IAM). */
export type FrontDoor = 'apiKey' | 'iam';
export const SECURITY_SCHEMES: Readonly<Record<FrontDoor, string>> = { apiKey: 'ApiKey', iam: 'SigV4' };

/** The part of an OpenAPI 3.1 document the API Gateway definition is generated from. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly paths: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components?: { readonly parameters?: Readonly<Record<string, unknown>> };
}

/** One operation of the document, as API Gateway will serve it. */
export interface ApiOperation {
  readonly path: string;
  readonly method: HttpMethod;
  readonly operationId: string;
  /** The `{name}` parts of the path. */
  readonly pathParameters: readonly string[];
  /** The security schemes that may call it (`ApiKey`, `SigV4`). */
  readonly security: readonly string[];
}

export class OpenApiRestApiConfigError extends Error {
  override readonly name = 'OpenApiRestApiConfigError';
}

/** The document in the repository: the source of truth of the API's paths and operations (functions/api/openapi.json). */
export const OPENAPI_DOCUMENT_URL = new URL('../../functions/api/openapi.json', import.meta.url);

export function readOpenApiDocument(url: URL = OPENAPI_DOCUMENT_URL): OpenApiDocument {
  return JSON.parse(readFileSync(url, 'utf8')) as OpenApiDocument;
}

const LITERAL_SEGMENT = /^[A-Za-z0-9._-]+$/;
const PARAMETER_SEGMENT = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * The document's operations, or an error listing every problem: a path outside /v1, a segment API Gateway cannot
 * route (`{a}.json`, an empty segment), two different parameter names at the same place, a path parameter the
 * operation does not declare, an operation without an operationId or without security (API Gateway would serve it
 * to anyone).
 */
export function apiOperations(document: OpenApiDocument): ApiOperation[] {
  const problems: string[] = [];
  if (typeof document?.openapi !== 'string' || !document.openapi.startsWith('3.')) problems.push('openapi must be a 3.x version');
  const paths = document?.paths;
  if (typeof paths !== 'object' || paths === null || Object.keys(paths).length === 0) {
    throw new OpenApiRestApiConfigError(
      `The OpenAPI document is invalid:\n- ${[...problems, 'paths must hold at least one path'].join('\n- ')}`,
    );
  }
  const operations: ApiOperation[] = [];
  const operationIds = new Set<string>();
  // Where each parameter sits: API Gateway allows one `{name}` child per resource.
  const parameterAt = new Map<string, string>();
  for (const [path, item] of Object.entries(paths)) {
    if (path !== API_PATH_PREFIX && !path.startsWith(`${API_PATH_PREFIX}/`)) {
      problems.push(`${path}: every path must start with ${API_PATH_PREFIX}/`);
      continue;
    }
    const segments = path.slice(1).split('/');
    const pathParameters: string[] = [];
    segments.forEach((segment, i) => {
      const parameter = PARAMETER_SEGMENT.exec(segment)?.[1];
      if (parameter) {
        pathParameters.push(parameter);
        const parent = `/${segments.slice(0, i).join('/')}`;
        const known = parameterAt.get(parent);
        if (known && known !== parameter) {
          problems.push(
            `${path}: {${parameter}} and {${known}} at the same place under ${parent} (API Gateway allows one parameter name there)`,
          );
        }
        parameterAt.set(parent, parameter);
      } else if (!LITERAL_SEGMENT.test(segment)) {
        problems.push(`${path}: segment "${segment}" is neither a literal (letters, digits, . _ -) nor a whole {parameter}`);
      }
    });
    const methods = Object.keys(item).filter((key) => (HTTP_METHODS as readonly string[]).includes(key)) as HttpMethod[];
    if (Object.keys(item).includes('trace')) problems.push(`${path}: API Gateway cannot serve TRACE`);
    if (methods.length === 0) problems.push(`${path}: no operation`);
    const pathLevelParameters = (item.parameters as unknown[] | undefined) ?? [];
    for (const method of methods) {
      const operation = item[method] as Record<string, unknown>;
      const where = `${method.toUpperCase()} ${path}`;
      const operationId = operation?.operationId;
      if (typeof operationId !== 'string' || operationId === '') problems.push(`${where}: operationId is missing`);
      else if (operationIds.has(operationId)) problems.push(`${where}: operationId ${operationId} is used twice`);
      else operationIds.add(operationId);
      const security = (operation?.security ?? document.security ?? []) as Record<string, unknown>[];
      const schemes = [...new Set(security.flatMap((requirement) => Object.keys(requirement)))];
      if (schemes.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0)) {
        problems.push(
          `${where}: has no security (or allows anonymous callers); every operation needs ${Object.values(SECURITY_SCHEMES).join(' or ')}`,
        );
      }
      const unknownSchemes = schemes.filter((scheme) => !Object.values(SECURITY_SCHEMES).includes(scheme));
      if (unknownSchemes.length > 0) problems.push(`${where}: unknown security scheme(s) ${unknownSchemes.join(', ')}`);
      const declared = new Set(
        [...pathLevelParameters, ...((operation?.parameters as unknown[] | undefined) ?? [])]
          .map((parameter) => resolveParameter(document, parameter))
          .filter((parameter) => parameter?.in === 'path')
          .map((parameter) => parameter!.name),
      );
      for (const parameter of pathParameters) {
        if (!declared.has(parameter)) problems.push(`${where}: path parameter {${parameter}} is not declared (in: path)`);
      }
      operations.push({ path, method, operationId: String(operationId), pathParameters, security: schemes });
    }
  }
  if (problems.length > 0) throw new OpenApiRestApiConfigError(`The OpenAPI document is invalid:\n- ${problems.join('\n- ')}`);
  return operations;
}

function resolveParameter(document: OpenApiDocument, parameter: unknown): { name: string; in: string } | undefined {
  const value = parameter as { $ref?: string; name?: string; in?: string } | undefined;
  if (value?.$ref) {
    const name = /^#\/components\/parameters\/(.+)$/.exec(value.$ref)?.[1];
    return name ? (document.components?.parameters?.[name] as { name: string; in: string } | undefined) : undefined;
  }
  return typeof value?.name === 'string' && typeof value.in === 'string' ? { name: value.name, in: value.in } : undefined;
}

export interface OpenApiRestApiProps {
  readonly document: OpenApiDocument;
  readonly frontDoor: FrontDoor;
  readonly restApiName: string;
  readonly description: string;
  /** The Lambda every operation is proxied to. */
  readonly handler: IFunction;
  /** The REQUEST authorizer of the `apiKey` front door (none for `iam`). */
  readonly authorizer?: IAuthorizer;
  /**
   * The `iam` front door's callers: IAM roles, the only principals its resource policy lets invoke it (every other
   * one denied, whatever its own IAM policy allows). At least one; none for `apiKey`.
   */
  readonly iamPrincipals?: readonly IamPrincipal[];
  readonly stageName: string;
  /** Stage throttling over all callers: requests per second, steady and burst. */
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetentionDays: number;
  /**
   * Create the account's API Gateway CloudWatch Logs role (AWS::ApiGateway::Account), which logging needs. One per
   * stack: the other front door of the stack depends on the one that creates it.
   */
  readonly createsAccountLoggingRole: boolean;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A regional REST API generated from the OpenAPI document: one resource per path segment, one method per operation
 * the front door serves (API keys through the Lambda authorizer, or SigV4 through AWS_IAM), each a Lambda proxy
 * integration to one function, which is invoked under a single permission for the stage. Access logs (JSON, no
 * header values) and error-level execution logs go to log groups with the stage's retention; errors API Gateway
 * answers itself (no key, throttled) are problem+json like the handler's.
 */
export class OpenApiRestApi extends Construct {
  readonly api: RestApi;
  readonly operations: readonly ApiOperation[];
  readonly accessLogs: LogGroup;
  readonly methods: readonly Method[];

  constructor(scope: Construct, id: string, props: OpenApiRestApiProps) {
    const operations = apiOperations(props.document).filter((operation) => operation.security.includes(SECURITY_SCHEMES[props.frontDoor]));
    validateProps(id, props, operations);
    super(scope, id);
    this.operations = operations;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      logGroupName: `/aws/apigateway/${props.restApiName}/access`,
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy,
    });
    const policy = props.frontDoor === 'iam' ? iamResourcePolicy(props.iamPrincipals ?? []) : undefined;
    this.api = new RestApi(this, 'Api', {
      restApiName: props.restApiName,
      ...(policy ? { policy } : {}),
      description: props.description,
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.createsAccountLoggingRole,
      // The account's logging role serves every API of the account and region: kept when the stack goes, except by
      // the failed deploy that created it.
      ...(props.createsAccountLoggingRole ? { cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE } : {}),
      deployOptions: {
        stageName: props.stageName,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: ACCESS_LOG_FORMAT,
        // Errors only, never request or response data (which may carry keys and webhook secrets).
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: false,
        // As the functions: tracing off (house-function.ts).
        tracingEnabled: false,
      },
    });
    // A REST API applies a new resource policy only when redeployed: the deployment's logical id hashes the whole
    // CfnRestApi (policy included), so a change of the callers makes a new deployment (test/infra/api-stack.test.ts).
    // API Gateway creates its execution log group itself, kept for ever: created here first, with the retention.
    new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${props.stageName}`,
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy,
    });

    const { partition, region } = Stack.of(this);
    const integration = new Integration({
      type: IntegrationType.AWS_PROXY,
      integrationHttpMethod: 'POST',
      uri: `arn:${partition}:apigateway:${region}:lambda:path/2015-03-31/functions/${props.handler.functionArn}/invocations`,
    });
    // One permission for every method of the stage (one per method would fill the function's 20 KB policy).
    props.handler.addPermission(`${id}Invoke`, {
      principal: new ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.api.arnForExecuteApi('*', '/*', props.stageName),
    });
    acknowledgeNag(
      this.api,
      'APIG2',
      "API Gateway validates the path and query parameters each operation declares; bodies are validated by the handler against the OpenAPI 3.1 document (JSON Schema 2020-12), which API Gateway's draft-04 models cannot express, and its errors name the field (problem+json).",
    );
    const validator = this.api.addRequestValidator('PathAndQueryParameters', {
      requestValidatorName: 'parameters',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const authorization =
      props.frontDoor === 'iam'
        ? { authorizationType: AuthorizationType.IAM }
        : { authorizationType: AuthorizationType.CUSTOM, authorizer: props.authorizer };
    this.methods = operations.map((operation) =>
      this.api.root.resourceForPath(operation.path).addMethod(operation.method.toUpperCase(), integration, {
        ...authorization,
        operationName: operation.operationId,
        requestValidator: validator,
        requestParameters: Object.fromEntries(operation.pathParameters.map((name) => [`method.request.path.${name}`, true])),
      }),
    );

    // Answers API Gateway gives itself, before the function: in the handler's shape (RFC 9457).
    const problem = (title: string, status?: number) => ({
      'application/json': JSON.stringify({ type: 'about:blank', title, ...(status ? { status } : {}) }).replace(
        '"__message__"',
        '$context.error.messageString',
      ),
    });
    const headers = { 'Content-Type': "'application/problem+json'" };
    for (const [type, status] of [
      [ResponseType.UNAUTHORIZED, 401],
      [ResponseType.ACCESS_DENIED, 403],
      // 403 as API Gateway answers it: an unknown path, or (on the IAM API) an unsigned request to a known one.
      [ResponseType.MISSING_AUTHENTICATION_TOKEN, undefined],
      [ResponseType.THROTTLED, 429],
      [ResponseType.DEFAULT_4XX, undefined],
      [ResponseType.DEFAULT_5XX, undefined],
    ] as const) {
      this.api.addGatewayResponse(`${type.responseType}Response`, {
        type,
        ...(status ? { statusCode: String(status) } : {}),
        responseHeaders: headers,
        templates: problem('__message__', status),
      });
    }
  }
}

/**
 * The access log: who called what, the answer and its latency, the API key's id (never the key), WAF's verdict.
 * No header values.
 */
export const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    ip: '$context.identity.sourceIp',
    caller: '$context.identity.caller',
    userArn: '$context.identity.userArn',
    keyId: '$context.authorizer.keyId',
    requestTime: '$context.requestTimeEpoch',
    method: '$context.httpMethod',
    resource: '$context.resourcePath',
    path: '$context.path',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationLatencyMs: '$context.integration.latency',
    integrationStatus: '$context.integration.status',
    authorizerStatus: '$context.authorizer.status',
    wafStatus: '$context.waf.status',
    error: '$context.error.message',
  }),
);

/**
 * The IAM API's resource policy: the configured roles may invoke it, everyone else is denied. The Deny is what
 * matters: in the API's own account, API Gateway lets in a caller whom either its IAM policy or the resource policy
 * allows, so an Allow alone would leave every identity with execute-api:Invoke on * in. `aws:PrincipalArn` is the
 * role's ARN (path included) for each of its sessions.
 */
export function iamResourcePolicy(principals: readonly IamPrincipal[]): PolicyDocument {
  const arns = principals.map((principal) => principal.arn);
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: 'ConfiguredRolesMayInvoke',
        effect: Effect.ALLOW,
        principals: arns.map((arn) => new ArnPrincipal(arn)),
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        sid: 'EveryoneElseDenied',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { StringNotEquals: { 'aws:PrincipalArn': arns } },
      }),
    ],
  });
}

/** API Gateway's bounds on stage throttling. */
export const MAX_THROTTLE_RATE = 10_000;

function validateProps(id: string, props: OpenApiRestApiProps, operations: readonly ApiOperation[]): void {
  const problems: string[] = [];
  const { rateLimit, burstLimit } = props.throttle;
  if (!(rateLimit > 0 && rateLimit <= MAX_THROTTLE_RATE))
    problems.push(`throttle.rateLimit must be in (0, ${MAX_THROTTLE_RATE}] (got ${rateLimit})`);
  if (!Number.isInteger(burstLimit) || burstLimit < 1 || burstLimit < rateLimit) {
    problems.push(`throttle.burstLimit must be a whole number ≥ 1 and ≥ rateLimit (got ${burstLimit})`);
  }
  if (props.frontDoor === 'apiKey' && !props.authorizer) problems.push('the apiKey front door needs its Lambda authorizer');
  if (props.frontDoor === 'iam' && props.authorizer) problems.push('the iam front door takes no Lambda authorizer (AWS_IAM checks SigV4)');
  if (props.frontDoor === 'iam') {
    if ((props.iamPrincipals ?? []).length === 0) {
      problems.push(
        'the iam front door needs at least one IAM principal (its resource policy denies everyone else); without any, create no IAM API',
      );
    } else {
      problems.push(...iamPrincipalProblems(props.iamPrincipals, 'iamPrincipals'));
    }
  }
  if (props.frontDoor === 'apiKey' && props.iamPrincipals !== undefined) {
    problems.push('the apiKey front door takes no IAM principals (its callers are API keys)');
  }
  if (operations.length === 0) problems.push(`no operation of the document allows ${SECURITY_SCHEMES[props.frontDoor]}`);
  if (!/^[a-zA-Z0-9_-]{1,128}$/.test(props.stageName))
    problems.push(`stageName must be letters, digits, - and _ (got "${props.stageName}")`);
  if (problems.length > 0) throw new OpenApiRestApiConfigError(`OpenApiRestApi "${id}" is invalid:\n- ${problems.join('\n- ')}`);
}
