import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import type { Construct } from 'constructs';
import type { StageConfig } from '../config.js';
import { ApiFirewall } from '../constructs/api-firewall.js';
import type { HouseFunction } from '../constructs/house-function.js';
import { formatIamPrincipals } from '../../functions/domain/iam-callers.js';
import { OpenApiRestApi, readOpenApiDocument, type OpenApiDocument } from '../constructs/openapi-rest-api.js';
import { functionName, lambdaLogGroupName, stageNames, type StageFunction } from '../naming.js';
import { acknowledgeNag } from '../nag.js';
import type { DataStack } from './data-stack.js';
import { operatorOutputs } from './outputs.js';
import { databaseFunction, handlerEntry } from './vpc-function.js';

/** API Gateway gives an integration 29 s; the handler answers well before (a page of 1,000 payments in milliseconds). */
export const API_TIMEOUT = Duration.seconds(25);
export const AUTHORIZER_TIMEOUT = Duration.seconds(10);
/** The authorizer's answer (the key's id and scopes, an API-wide policy) is cached per Authorization header this long. */
export const AUTHORIZER_CACHE_TTL = Duration.seconds(60);

export interface ApiStackProps extends StackProps {
  readonly config: StageConfig;
  readonly data: DataStack;
  /** Defaults to functions/api/openapi.json. */
  readonly document?: OpenApiDocument;
}

/**
 * The HTTP API on AWS: two regional REST APIs generated from the same OpenAPI document, one function behind both.
 * The first takes API keys (`Authorization: Bearer <key>`, checked by the Lambda authorizer); the second takes SigV4
 * (AWS_IAM) for callers inside AWS: only the roles of the stage's `api.iamPrincipals` (its resource policy denies
 * every other identity), each with the scope configured there (the function maps the caller to it). A stage with no
 * IAM principal has no IAM API. AWS WAF (rate per IP and the AWS common rule set) protects both stages.
 */
export class ApiStack extends Stack {
  readonly handler: HouseFunction;
  readonly authorizerFunction: HouseFunction;
  readonly apiKeyApi: OpenApiRestApi;
  /** Absent when the stage lists no IAM principal. */
  readonly iamApi?: OpenApiRestApi;
  readonly firewall: ApiFirewall;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const names = stageNames(config.stage);
    const document = props.document ?? readOpenApiDocument();
    const iamPrincipals = config.api.iamPrincipals;

    this.authorizerFunction = databaseFunction(this, 'ApiAuthorizer', config, data, 'apiAuthorizer', {
      entry: handlerEntry('api-authorizer.ts'),
      description: 'REQUEST authorizer: the bearer API key (hashed lookup) to an API-wide policy with {keyId, scopes}',
      timeout: AUTHORIZER_TIMEOUT,
      memorySize: 256,
      egress: 'Secrets Manager (AWS APIs through the NAT)',
    });
    this.handler = databaseFunction(this, 'Api', config, data, 'api', {
      entry: handlerEntry('api.ts'),
      description: 'The /v1 HTTP API (the same router as npm start), behind both REST APIs',
      timeout: API_TIMEOUT,
      memorySize: 512,
      egress: 'Secrets Manager (AWS APIs through the NAT)',
      environment: {
        NETWORK: config.network,
        // An invoice that names no depth asks the processor's.
        CONFIRMATIONS: String(config.confirmations),
        // Seals the signing secret of a new or rotated endpoint (the deliverer unseals it).
        WEBHOOK_SECRETS_KEY_SECRET_ARN: data.webhookSecretsKey.secretArn,
        WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false',
        // The IAM API's callers and their scopes (role ARNs: not secret).
        ...(iamPrincipals.length > 0 ? { API_IAM_PRINCIPALS: formatIamPrincipals(iamPrincipals) } : {}),
        // The stage's payout policy (issue 16): per-payout and daily limits, the four-eyes threshold.
        PAYOUT_MAX_LOVELACE: config.payouts.policy.maxLovelace,
        PAYOUT_DAILY_LIMIT_LOVELACE: config.payouts.policy.dailyLimitLovelace,
        PAYOUT_APPROVAL_THRESHOLD_LOVELACE: config.payouts.policy.approvalThresholdLovelace,
      },
    });
    data.webhookSecretsKey.grantRead(this.handler);

    const authorizer = new RequestAuthorizer(this, 'Authorizer', {
      authorizerName: 'api-key',
      handler: this.authorizerFunction,
      identitySources: [IdentitySource.header('Authorization')],
      resultsCacheTtl: AUTHORIZER_CACHE_TTL,
    });
    const common = {
      document,
      handler: this.handler,
      stageName: config.stage,
      throttle: config.api.throttle,
      logRetentionDays: config.logRetentionDays,
    };
    this.apiKeyApi = new OpenApiRestApi(this, 'KeyApi', {
      ...common,
      frontDoor: 'apiKey',
      restApiName: names.restApi,
      description: `payment-monitor ${config.stage}: /v1 with API keys (Authorization: Bearer <key>)`,
      authorizer,
      createsAccountLoggingRole: true,
    });
    if (iamPrincipals.length > 0) {
      this.iamApi = new OpenApiRestApi(this, 'IamApi', {
        ...common,
        frontDoor: 'iam',
        restApiName: names.iamRestApi,
        description: `payment-monitor ${config.stage}: /v1 for the roles of api.iamPrincipals (SigV4, AWS_IAM)`,
        iamPrincipals,
        createsAccountLoggingRole: false,
      });
      // Logging needs the account's CloudWatch role, which the first API sets.
      const account = this.apiKeyApi.api.node.tryFindChild('Account');
      if (account) this.iamApi.api.deploymentStage.node.addDependency(account);
    }
    const iamApi = this.iamApi;

    this.firewall = new ApiFirewall(this, 'Firewall', {
      webAclName: names.webAcl,
      rateLimitPer5Minutes: config.api.wafRateLimitPer5Minutes,
      stages: [this.apiKeyApi.api.deploymentStage, ...(iamApi ? [iamApi.api.deploymentStage] : [])],
    });

    const role = this.apiKeyApi.api.node.tryFindChild('CloudWatchRole');
    if (role) {
      acknowledgeNag(
        role,
        'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        "API Gateway's account-wide logging role (AWS::ApiGateway::Account): one per account and region, shared by every API there, so it carries the policy AWS maintains for it rather than one scoped to this stage's log groups, which would cut off the other APIs' logs.",
      );
    }
    for (const method of iamApi?.methods ?? []) {
      acknowledgeNag(
        method,
        'COG4',
        "Callers inside AWS sign with SigV4: AWS_IAM authenticates them, the API's resource policy admits only the stage's api.iamPrincipals roles; there is no Cognito user pool.",
      );
    }
    for (const method of this.apiKeyApi.methods) {
      acknowledgeNag(
        method,
        'COG4',
        'Businesses authenticate with API keys checked by the Lambda authorizer (hashed, scoped, rotatable); there is no Cognito user pool.',
      );
    }

    const functions: [string, StageFunction, string][] = [
      ['Api', 'api', 'the /v1 handler behind both REST APIs'],
      ['ApiAuthorizer', 'apiAuthorizer', 'checks API keys (cached 60 s per key)'],
    ];
    operatorOutputs(this, {
      ApiUrl: { value: `${this.apiKeyApi.api.url}v1/`, description: 'The HTTP API for businesses: Authorization: Bearer <API key>' },
      ...(iamApi
        ? {
            IamApiUrl: {
              value: `${iamApi.api.url}v1/`,
              description: `The same API for the roles of api.iamPrincipals, signed with SigV4: awscurl --service execute-api --region ${this.region} <this>status`,
            },
            IamApiAccessLogGroupName: { value: iamApi.accessLogs.logGroupName, description: 'Access log of the IAM API' },
          }
        : {}),
      ApiAccessLogGroupName: { value: this.apiKeyApi.accessLogs.logGroupName, description: 'Access log of the API-key API' },
      WebAclName: { value: names.webAcl, description: 'AWS WAF web ACL of both APIs (rate per IP, AWS common rule set)' },
      ...Object.fromEntries(
        functions.flatMap(([label, fn, what]) => [
          [`${label}FunctionName`, { value: functionName(config.stage, fn), description: what }],
          [
            `${label}LogGroupName`,
            { value: lambdaLogGroupName(functionName(config.stage, fn)), description: 'aws logs tail <this> --follow' },
          ],
        ]),
      ),
    });
  }
}
