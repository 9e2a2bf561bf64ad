/**
 * The HTTP API on AWS (issue 14, item 5), on the synthesized templates: the two REST APIs carry exactly the
 * document's paths and operations (functions/api/openapi.json), each a Lambda proxy to the api function, behind the
 * Lambda authorizer (API keys) or AWS_IAM (SigV4); stage throttling, access logs, AWS WAF; the invariants the
 * constructors check before any resource exists.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RestApi } from 'aws-cdk-lib/aws-apigateway';
import { beforeAll, describe, expect, it } from 'vitest';
import { readStageConfig, StageConfigError } from '../../lib/config.js';
import { ApiFirewall, ApiFirewallConfigError } from '../../lib/constructs/api-firewall.js';
import {
  apiOperations,
  OpenApiRestApi,
  OpenApiRestApiConfigError,
  readOpenApiDocument,
  type OpenApiDocument,
} from '../../lib/constructs/openapi-rest-api.js';
import { AUTHORIZER_CACHE_TTL } from '../../lib/stacks/api-stack.js';
import { formatIamPrincipals, parseIamPrincipals, type IamPrincipal } from '../../functions/domain/iam-callers.js';
import { actionsOf, grantedStatements, STAGES, stageConfig, synthesizeStage, type SynthesizedStage } from './stage-fixture.js';

let dev: SynthesizedStage;
let prod: SynthesizedStage;
beforeAll(() => {
  dev = synthesizeStage(stageConfig('dev'));
  prod = synthesizeStage(stageConfig('prod'));
}, 180_000);

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const resources = (template: Template, type: string) =>
  Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(([, resource]) => resource.Type === type);
const logicalIdOf = (template: Template, prefix: string, type: string) => {
  const found = resources(template, type).filter(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
  expect(found, `${type} ${prefix}`).toHaveLength(1);
  return found[0]![0];
};

/** Every method of the REST API `apiPrefix` (KeyApi, IamApi) as "GET /v1/…", its path rebuilt from the resources. */
function methodsOf(template: Template, apiPrefix: string): Map<string, Resource['Properties']> {
  const api = logicalIdOf(template, apiPrefix, 'AWS::ApiGateway::RestApi');
  const all = template.toJSON().Resources as Record<string, Resource>;
  const pathOf = (parent: unknown): string => {
    const ref = parent as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
    if (ref['Fn::GetAtt']) {
      expect(ref['Fn::GetAtt']).toEqual([api, 'RootResourceId']);
      return '';
    }
    const resource = all[ref.Ref!]!;
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart as string}`;
  };
  return new Map(
    resources(template, 'AWS::ApiGateway::Method')
      .filter(([, method]) => (method.Properties.RestApiId as { Ref: string }).Ref === api)
      .map(([, method]) => [`${method.Properties.HttpMethod as string} ${pathOf(method.Properties.ResourceId)}`, method.Properties]),
  );
}

const document = readOpenApiDocument();
const documentOperations = (scheme: string) =>
  apiOperations(document)
    .filter((operation) => operation.security.includes(scheme))
    .map((operation) => `${operation.method.toUpperCase()} ${operation.path}`)
    .sort();

/** A bare stack with one inline function, for constructor checks of the REST API. */
function stackWithHandler() {
  const stack = new Stack(new App(), 'T', { env: { account: '123456789012', region: 'eu-west-1' } });
  const handler = new LambdaFunction(stack, 'Fn', {
    runtime: Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.seconds(10),
  });
  return { stack, handler };
}

describe('the REST APIs are the OpenAPI document', () => {
  it('the document has operations, all under /v1 and all authenticated', () => {
    const operations = apiOperations(document);
    expect(operations.length).toBeGreaterThanOrEqual(10);
    for (const operation of operations) {
      expect(operation.path.startsWith('/v1/')).toBe(true);
      expect(operation.security.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['KeyApi', 'ApiKey'],
    ['IamApi', 'SigV4'],
  ])('%s serves exactly the operations the document allows for %s', (api, scheme) => {
    for (const stage of [dev, prod]) {
      const methods = methodsOf(stage.templates.api, api);
      expect([...methods.keys()].sort()).toEqual(documentOperations(scheme));
      // And its resources are the document's path prefixes, no more.
      const prefixes = new Set(
        [...methods.keys()].flatMap((key) => {
          const segments = key.split(' ')[1]!.split('/').slice(1);
          return segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`);
        }),
      );
      const apiId = logicalIdOf(stage.templates.api, api, 'AWS::ApiGateway::RestApi');
      const resourceCount = resources(stage.templates.api, 'AWS::ApiGateway::Resource').filter(
        ([, resource]) => (resource.Properties.RestApiId as { Ref: string }).Ref === apiId,
      ).length;
      expect(resourceCount).toBe(prefixes.size);
    }
  });

  it('names each method after its operationId, requires its path parameters and proxies it to the api function', () => {
    const template = dev.templates.api;
    const handler = logicalIdOf(template, 'Api', 'AWS::Lambda::Function');
    const byKey = new Map(apiOperations(document).map((operation) => [`${operation.method.toUpperCase()} ${operation.path}`, operation]));
    for (const api of ['KeyApi', 'IamApi']) {
      for (const [key, method] of methodsOf(template, api)) {
        const operation = byKey.get(key)!;
        expect(method.OperationName, key).toBe(operation.operationId);
        expect(method.RequestParameters ?? {}, key).toEqual(
          Object.fromEntries(operation.pathParameters.map((name) => [`method.request.path.${name}`, true])),
        );
        expect(method.RequestValidatorId, key).toBeDefined();
        const integration = method.Integration as { Type: string; IntegrationHttpMethod: string; Uri: unknown };
        expect(integration.Type).toBe('AWS_PROXY');
        expect(integration.IntegrationHttpMethod).toBe('POST');
        expect(JSON.stringify(integration.Uri)).toContain(`"Fn::GetAtt":["${handler}","Arn"]`);
      }
    }
    // Some operation has two path parameters (the payment output), so the check above is not vacuous.
    expect(apiOperations(document).some((operation) => operation.pathParameters.length === 2)).toBe(true);
  });

  it('puts the Lambda authorizer on every API-key method and AWS_IAM on every IAM method', () => {
    const template = dev.templates.api;
    const authorizer = logicalIdOf(template, 'Authorizer', 'AWS::ApiGateway::Authorizer');
    for (const [key, method] of methodsOf(template, 'KeyApi')) {
      expect(method.AuthorizationType, key).toBe('CUSTOM');
      expect(method.AuthorizerId, key).toEqual({ Ref: authorizer });
    }
    for (const [key, method] of methodsOf(template, 'IamApi')) {
      expect(method.AuthorizationType, key).toBe('AWS_IAM');
      expect(method.AuthorizerId, key).toBeUndefined();
    }
    // Nothing answers anonymously.
    for (const [, method] of resources(template, 'AWS::ApiGateway::Method')) expect(method.Properties.AuthorizationType).not.toBe('NONE');
  });

  it('checks API keys with a REQUEST authorizer on the Authorization header, its answer cached 60 s', () => {
    expect(AUTHORIZER_CACHE_TTL.toSeconds()).toBe(60);
    const template = dev.templates.api;
    const authorizerFunction = logicalIdOf(template, 'ApiAuthorizer', 'AWS::Lambda::Function');
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 60,
    });
    const [, authorizer] = resources(template, 'AWS::ApiGateway::Authorizer')[0]!;
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(`"${authorizerFunction}","Arn"`);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
  });

  it('lets API Gateway invoke the api function once per API, for its stage only', () => {
    const template = dev.templates.api;
    const handler = logicalIdOf(template, 'Api', 'AWS::Lambda::Function');
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, permission]) =>
      JSON.stringify(permission.Properties.FunctionName).includes(`"${handler}"`),
    );
    expect(permissions).toHaveLength(2);
    for (const [, permission] of permissions) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties.SourceArn)).toMatch(/"\/dev\/\*\/\*"/);
    }
  });
});

describe('the stages', () => {
  it('are regional, throttled per the stage config, access-logged without headers, execution-logged at ERROR, untraced', () => {
    for (const stage of [dev, prod]) {
      const { throttle } = stage.config.api;
      const template = stage.templates.api;
      template.allResourcesProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
      template.resourceCountIs('AWS::ApiGateway::Stage', 2);
      template.allResourcesProperties('AWS::ApiGateway::Stage', {
        StageName: stage.config.stage,
        TracingEnabled: false,
        AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"keyId":"\\$context.authorizer.keyId"') },
        MethodSettings: [
          Match.objectLike({
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
            ThrottlingRateLimit: throttle.rateLimit,
            ThrottlingBurstLimit: throttle.burstLimit,
          }),
        ],
      });
      for (const [, apiStage] of resources(template, 'AWS::ApiGateway::Stage')) {
        const format = (apiStage.Properties.AccessLogSetting as { Format: string }).Format;
        expect(format).not.toMatch(/requestOverride|\.header\.|Authorization/i);
      }
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/apigateway/payment-monitor-${stage.config.stage}-api/access`,
        RetentionInDays: stage.config.logRetentionDays,
      });
    }
    expect(dev.config.api.throttle).not.toEqual(prod.config.api.throttle);
  });

  it('keeps the account-wide logging role for every API of the account, except when the deploy that created it fails', () => {
    const template = dev.templates.api;
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'RetainExceptOnCreate' });
    // The IAM API's stage waits for the role to be set (it logs too).
    const account = logicalIdOf(template, 'KeyApiAccount', 'AWS::ApiGateway::Account');
    const iamStage = logicalIdOf(template, 'IamApiDeploymentStagedev', 'AWS::ApiGateway::Stage');
    expect((template.toJSON().Resources as Record<string, Resource>)[iamStage]!.DependsOn).toContain(account);
  });

  it('answers the errors API Gateway gives itself as problem+json', () => {
    // An unknown path, or an unsigned request on the IAM API: API Gateway's own 403, not a 404 (it cannot tell them apart).
    dev.templates.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'MISSING_AUTHENTICATION_TOKEN',
      StatusCode: Match.absent(),
    });
    for (const type of ['UNAUTHORIZED', 'ACCESS_DENIED', 'MISSING_AUTHENTICATION_TOKEN', 'THROTTLED', 'DEFAULT_4XX', 'DEFAULT_5XX']) {
      dev.templates.api.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
        ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"title":\\$context.error.messageString') },
      });
    }
  });
});

describe('AWS WAF', () => {
  it('limits each client IP per 5 minutes per the stage config, then applies the AWS common rule set (large bodies counted)', () => {
    for (const stage of [dev, prod]) {
      stage.templates.api.hasResourceProperties('AWS::WAFv2::WebACL', {
        Name: `payment-monitor-${stage.config.stage}-api`,
        Scope: 'REGIONAL',
        DefaultAction: { Allow: {} },
        Rules: [
          Match.objectLike({
            Name: 'RateLimitPerIp',
            Priority: 0,
            Statement: {
              RateBasedStatement: { Limit: stage.config.api.wafRateLimitPer5Minutes, AggregateKeyType: 'IP', EvaluationWindowSec: 300 },
            },
            Action: { Block: { CustomResponse: Match.objectLike({ ResponseCode: 429 }) } },
          }),
          Match.objectLike({
            Name: 'AWSManagedRulesCommonRuleSet',
            Priority: 1,
            OverrideAction: { None: {} },
            Statement: {
              ManagedRuleGroupStatement: {
                VendorName: 'AWS',
                Name: 'AWSManagedRulesCommonRuleSet',
                RuleActionOverrides: [{ Name: 'SizeRestrictions_BODY', ActionToUse: { Count: {} } }],
              },
            },
          }),
        ],
      });
    }
    expect(dev.config.api.wafRateLimitPer5Minutes).not.toBe(prod.config.api.wafRateLimitPer5Minutes);
  });

  it('protects both stages', () => {
    const template = dev.templates.api;
    const acl = logicalIdOf(template, 'FirewallWebAcl', 'AWS::WAFv2::WebACL');
    const associations = resources(template, 'AWS::WAFv2::WebACLAssociation').map(([, a]) => a.Properties);
    expect(associations).toHaveLength(2);
    const stages = resources(template, 'AWS::ApiGateway::Stage').map(([id]) => id);
    for (const association of associations) expect(association.WebACLArn).toEqual({ 'Fn::GetAtt': [acl, 'Arn'] });
    const protectedStages = associations.map(
      (association) => JSON.stringify(association.ResourceArn).match(/"Ref":"(\w+DeploymentStage\w+)"/)?.[1],
    );
    expect(protectedStages.sort()).toEqual(stages.sort());
  });
});

describe('the functions behind the API', () => {
  it('gives the api function the database and the webhook secrets key, nothing else', () => {
    const statements = grantedStatements(dev.templates.api, 'ApiServiceRole');
    expect(actionsOf(statements)).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:GetSecretValue',
    ]);
    const json = JSON.stringify(statements);
    expect(json).toMatch(/ExportsOutputRefWebhookSecretsKey/);
    expect(json).toMatch(/DatabaseInstanceSecretAttachment/);
    dev.templates.api.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'payment-monitor-dev-api',
      Timeout: 25,
      Environment: {
        Variables: Match.objectLike({
          WEBHOOK_SECRETS_KEY_SECRET_ARN: Match.anyValue(),
          WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false',
          DATABASE_SECRET_ARN: Match.anyValue(),
          NETWORK: 'preprod',
          API_IAM_PRINCIPALS: formatIamPrincipals(dev.config.api.iamPrincipals),
        }),
      },
    });
  });

  it('tells the api function the IAM API’s roles and scopes, as it reads them back', () => {
    for (const stage of [dev, prod]) {
      const [, fn] = resources(stage.templates.api, 'AWS::Lambda::Function').find(
        ([, resource]) => resource.Properties.FunctionName === `payment-monitor-${stage.config.stage}-api`,
      )!;
      const text = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.API_IAM_PRINCIPALS;
      expect(parseIamPrincipals(text)).toEqual(stage.config.api.iamPrincipals);
    }
    // dev ships an admin role and a read-only one (scopes differ per role).
    expect(dev.config.api.iamPrincipals.map((principal) => principal.scope).sort()).toEqual(['admin', 'read']);
  });

  it('gives the authorizer the database alone', () => {
    const statements = grantedStatements(dev.templates.api, 'ApiAuthorizerServiceRole');
    expect(actionsOf(statements)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(JSON.stringify(statements)).toMatch(/DatabaseInstanceSecretAttachment/);
  });
});

describe('invariants checked before any resource exists', () => {
  const base: OpenApiDocument = {
    openapi: '3.1.0',
    security: [{ ApiKey: [] }],
    paths: { '/v1/things/{id}': { get: { operationId: 'getThing', parameters: [{ name: 'id', in: 'path', required: true }] } } },
  };
  const withPaths = (paths: OpenApiDocument['paths'], security = base.security) => ({ ...base, security, paths });

  it('accepts a valid document (the control)', () => {
    expect(apiOperations(base)).toEqual([
      { path: '/v1/things/{id}', method: 'get', operationId: 'getThing', pathParameters: ['id'], security: ['ApiKey'] },
    ]);
  });

  it.each<[string, OpenApiDocument, RegExp]>([
    ['a path outside /v1', withPaths({ '/v2/things': { get: { operationId: 'x' } } }), /\/v2\/things: every path must start with \/v1\//],
    ['an operation without security', withPaths({ '/v1/things': { get: { operationId: 'x' } } }, []), /GET \/v1\/things: has no security/],
    [
      'an anonymous alternative',
      withPaths({ '/v1/things': { get: { operationId: 'x', security: [{ ApiKey: [] }, {}] } } }),
      /allows anonymous callers/,
    ],
    [
      'an undeclared path parameter',
      withPaths({ '/v1/things/{id}': { get: { operationId: 'x' } } }),
      /path parameter \{id\} is not declared/,
    ],
    [
      'two parameter names at one place',
      withPaths({
        '/v1/things/{id}': { get: { operationId: 'a', parameters: [{ name: 'id', in: 'path' }] } },
        '/v1/things/{name}/parts': { get: { operationId: 'b', parameters: [{ name: 'name', in: 'path' }] } },
      }),
      /\{name\} and \{id\} at the same place/,
    ],
    ['a segment API Gateway cannot route', withPaths({ '/v1/things/{id}.json': { get: { operationId: 'x' } } }), /neither a literal/],
    ['a missing operationId', withPaths({ '/v1/things': { get: {} } }), /operationId is missing/],
    [
      'an unknown security scheme',
      withPaths({ '/v1/things': { get: { operationId: 'x', security: [{ Basic: [] }] } } }),
      /unknown security scheme/,
    ],
  ])('refuses %s', (_name, invalid, message) => {
    expect(() => apiOperations(invalid)).toThrow(OpenApiRestApiConfigError);
    expect(() => apiOperations(invalid)).toThrow(message);
  });

  it('refuses a throttle API Gateway cannot apply, in the constructor, before the REST API exists', () => {
    const { stack, handler } = stackWithHandler();
    const build = (throttle: { rateLimit: number; burstLimit: number }) => () =>
      new OpenApiRestApi(stack, `Api${throttle.rateLimit}`, {
        document: withPaths(base.paths, [{ SigV4: [] }]),
        frontDoor: 'iam',
        restApiName: 'x',
        description: 'x',
        handler,
        stageName: 'dev',
        throttle,
        logRetentionDays: 7,
        createsAccountLoggingRole: false,
        iamPrincipals: [{ arn: 'arn:aws:iam::123456789012:role/ops', scope: 'admin' }],
      });
    expect(build({ rateLimit: 10, burstLimit: 5 })).toThrow(/burstLimit must be a whole number ≥ 1 and ≥ rateLimit/);
    expect(stack.node.tryFindChild('Api10')).toBeUndefined();
    expect(build({ rateLimit: 10, burstLimit: 20 })).not.toThrow();
    expect(stack.node.findAll().some((construct) => construct instanceof RestApi)).toBe(true);
  });

  it('refuses an IAM front door without principals, with a malformed role ARN or scope, in the constructor', () => {
    const { stack, handler } = stackWithHandler();
    const build = (id: string, iamPrincipals: unknown) => () =>
      new OpenApiRestApi(stack, id, {
        document: withPaths(base.paths, [{ SigV4: [] }]),
        frontDoor: 'iam',
        restApiName: id,
        description: 'x',
        handler,
        stageName: 'dev',
        throttle: { rateLimit: 10, burstLimit: 20 },
        logRetentionDays: 7,
        createsAccountLoggingRole: false,
        iamPrincipals: iamPrincipals as IamPrincipal[],
      });
    expect(build('None', [])).toThrow(/the iam front door needs at least one IAM principal/);
    expect(build('Session', [{ arn: 'arn:aws:sts::123456789012:assumed-role/ops/alice', scope: 'admin' }])).toThrow(
      /iamPrincipals\[0\]\.arn must be an IAM role's ARN/,
    );
    expect(build('User', [{ arn: 'arn:aws:iam::123456789012:user/alice', scope: 'admin' }])).toThrow(/must be an IAM role's ARN/);
    expect(build('Short', [{ arn: 'arn:aws:iam::12345:role/ops', scope: 'admin' }])).toThrow(/must be an IAM role's ARN/);
    expect(build('Scope', [{ arn: 'arn:aws:iam::123456789012:role/ops', scope: 'root' }])).toThrow(
      /iamPrincipals\[0\]\.scope must be read, write or admin \(got "root"\)/,
    );
    expect(
      build('Twice', [
        { arn: 'arn:aws:iam::123456789012:role/ops', scope: 'admin' },
        { arn: 'arn:aws:iam::123456789012:role/team/ops', scope: 'read' },
      ]),
    ).toThrow(/iamPrincipals\[1\]\.arn names the same role as iamPrincipals\[0\]/);
    expect(stack.node.findAll().some((construct) => construct instanceof RestApi)).toBe(false);
    // A change of the roles redeploys the stage (a REST API applies a new resource policy only then): the same
    // construct in a fresh stack, its deployment's logical id (which hashes what it deploys) for each list of roles.
    const deploymentId = (arn: string) => {
      const fresh = new Stack(new App(), 'T', { env: { account: '123456789012', region: 'eu-west-1' } });
      const fn = new LambdaFunction(fresh, 'Fn', {
        runtime: Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: Code.fromInline('exports.handler = async () => ({})'),
      });
      const api = new OpenApiRestApi(fresh, 'Iam', {
        document: withPaths(base.paths, [{ SigV4: [] }]),
        frontDoor: 'iam',
        restApiName: 'x',
        description: 'x',
        handler: fn,
        stageName: 'dev',
        throttle: { rateLimit: 10, burstLimit: 20 },
        logRetentionDays: 7,
        createsAccountLoggingRole: false,
        iamPrincipals: [{ arn, scope: 'admin' }],
      });
      expect(api.api.latestDeployment).toBeDefined();
      return Object.keys(Template.fromStack(fresh).findResources('AWS::ApiGateway::Deployment'));
    };
    const ops = deploymentId('arn:aws:iam::123456789012:role/ops');
    expect(ops).toHaveLength(1);
    expect(deploymentId('arn:aws:iam::123456789012:role/ops')).toEqual(ops);
    expect(deploymentId('arn:aws:iam::123456789012:role/other')).not.toEqual(ops);
  });

  it('refuses a stage config whose IAM principals are not role ARNs with a scope, every problem at once', () => {
    const broken = {
      ...(STAGES.dev as Record<string, unknown>),
      api: {
        ...(STAGES.dev as { api: Record<string, unknown> }).api,
        iamPrincipals: [{ arn: 'arn:aws:iam::123456789012:role/ops' }, { arn: 'role/ops', scope: 'admin' }],
      },
    };
    const read = () => readStageConfig({ dev: broken }, 'dev');
    expect(read).toThrow(StageConfigError);
    expect(read).toThrow(
      /api\.iamPrincipals\[0\]\.scope must be read, write or admin[\s\S]*api\.iamPrincipals\[1\]\.arn must be an IAM role's ARN/,
    );
    // Absent: none (no IAM API).
    const { iamPrincipals: _none, ...withoutPrincipals } = (STAGES.dev as { api: Record<string, unknown> }).api;
    expect(readStageConfig({ dev: { ...(STAGES.dev as object), api: withoutPrincipals } }, 'dev').api.iamPrincipals).toEqual([]);
  });

  it('refuses a WAF rate limit below 100 or a web ACL with no stage, in the constructor', () => {
    const stack = new Stack(new App(), 'T');
    const build = (limit: number) => () =>
      new ApiFirewall(stack, `Waf${limit}`, { webAclName: 'x', rateLimitPer5Minutes: limit, stages: [] });
    expect(build(99)).toThrow(ApiFirewallConfigError);
    expect(build(99)).toThrow(/between 100 and 2000000000/);
    expect(build(100)).toThrow(/no stage to protect/);
  });

  it('refuses a stage config with an unusable API throttle, WAF limit or archive retention, every problem at once', () => {
    const broken = {
      ...(STAGES.dev as Record<string, unknown>),
      api: { throttle: { rateLimit: 10, burstLimit: 5 }, wafRateLimitPer5Minutes: 50 },
      events: { archiveRetentionDays: 0 },
    };
    const read = () => readStageConfig({ dev: broken }, 'dev');
    expect(read).toThrow(StageConfigError);
    expect(read).toThrow(
      /api\.throttle\.burstLimit \(5\) must be at least api\.throttle\.rateLimit \(10\)[\s\S]*api\.wafRateLimitPer5Minutes must be a whole number of requests per IP between 100[\s\S]*events\.archiveRetentionDays must be a whole number of days ≥ 1/,
    );
    expect(() => readStageConfig(STAGES, 'dev')).not.toThrow();
  });
});
