import type { Stage } from 'aws-cdk-lib/aws-apigateway';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { WAF_RATE_LIMIT_MAX, WAF_RATE_LIMIT_MIN } from '../config.js';

export interface ApiFirewallProps {
  readonly webAclName: string;
  /** Requests one client IP may make in any 5 minutes before it is blocked (answered 429) until its rate falls. */
  readonly rateLimitPer5Minutes: number;
  /** The API stages the web ACL protects. */
  readonly stages: readonly Stage[];
}

export class ApiFirewallConfigError extends Error {
  override readonly name = 'ApiFirewallConfigError';
}

/** The rate-based rule's evaluation window (WAF's default; the limit is per this window). */
export const RATE_WINDOW_SECONDS = 300;
/**
 * Rules of the AWS common rule set that count instead of block: SizeRestrictions_BODY blocks bodies over 8 KB, and
 * POST /v1/addresses takes up to 1,000 addresses in one body (API Gateway's own limit, 10 MB, still applies).
 */
export const COMMON_RULES_COUNTED = ['SizeRestrictions_BODY'] as const;

/**
 * AWS WAF in front of the API stages (REGIONAL web ACL): a rate-based rule per client IP, then the AWS managed
 * common rule set (OWASP-style protections). Blocked requests are answered 429 (rate) or 403 (rule set), and each
 * rule has its CloudWatch metrics and sampled requests.
 */
export class ApiFirewall extends Construct {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: ApiFirewallProps) {
    const limit = props.rateLimitPer5Minutes;
    if (!Number.isInteger(limit) || limit < WAF_RATE_LIMIT_MIN || limit > WAF_RATE_LIMIT_MAX) {
      throw new ApiFirewallConfigError(
        `ApiFirewall "${id}": rateLimitPer5Minutes must be a whole number between ${WAF_RATE_LIMIT_MIN} and ${WAF_RATE_LIMIT_MAX} (AWS WAF's bounds; got ${limit})`,
      );
    }
    if (props.stages.length === 0) throw new ApiFirewallConfigError(`ApiFirewall "${id}": no stage to protect`);
    super(scope, id);
    const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: props.webAclName,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(props.webAclName),
      customResponseBodies: {
        TooManyRequests: {
          contentType: 'APPLICATION_JSON',
          content: JSON.stringify({ type: 'about:blank', title: 'Too many requests from this address', status: 429 }),
        },
      },
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          statement: { rateBasedStatement: { limit, aggregateKeyType: 'IP', evaluationWindowSec: RATE_WINDOW_SECONDS } },
          action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'TooManyRequests' } } },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        {
          name: 'AWSManagedRulesCommonRuleSet',
          priority: 1,
          statement: {
            managedRuleGroupStatement: {
              vendorName: 'AWS',
              name: 'AWSManagedRulesCommonRuleSet',
              ruleActionOverrides: COMMON_RULES_COUNTED.map((name) => ({ name, actionToUse: { count: {} } })),
            },
          },
          overrideAction: { none: {} },
          visibilityConfig: visibility('AWSManagedRulesCommonRuleSet'),
        },
      ],
    });
    props.stages.forEach((stage, i) => {
      const association = new CfnWebACLAssociation(this, `Association${i}`, {
        resourceArn: stage.stageArn,
        webAclArn: this.webAcl.attrArn,
      });
      association.node.addDependency(stage);
    });
  }
}
