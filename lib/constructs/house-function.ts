import * as path from 'node:path';
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';
import { functionRole } from './function-role.js';

/** Lambda limits the constructor enforces so `cdk synth` fails before CloudFormation does. */
export const MAX_LAMBDA_TIMEOUT = Duration.minutes(15);
export const MIN_LAMBDA_MEMORY_MB = 128;
export const MAX_LAMBDA_MEMORY_MB = 10_240;

/**
 * ESM bundles have no `require`; CommonJS dependencies that call it (directly or through esbuild's
 * `__require` shim) need one, so every bundle starts by creating it.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __houseCreateRequire } from 'module'; const require = __houseCreateRequire(import.meta.url);";

export interface HouseFunctionProps
  extends Omit<NodejsFunctionProps, 'entry' | 'timeout' | 'memorySize' | 'runtime' | 'architecture' | 'logGroup' | 'logRetention'> {
  /** Handler source file; must live under functions/handlers/. */
  readonly entry: string;
  /** Stage name (dev, staging, prod); exported as STAGE. */
  readonly stage: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Retention of the function's log group; must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, …). */
  readonly logRetentionDays: number;
  /** POWERTOOLS_SERVICE_NAME; defaults to `payment-monitor`. */
  readonly serviceName?: string;
  /** Removal policy of the log group; defaults to DESTROY (logs follow the function). */
  readonly logRemovalPolicy?: RemovalPolicy;
}

export class HouseFunctionConfigError extends Error {
  override readonly name = 'HouseFunctionConfigError';
}

const VALID_RETENTION_DAYS: ReadonlySet<number> = new Set(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);

/**
 * The house Lambda: NodejsFunction on ARM64 and Node.js 22, bundled locally by esbuild as minified ESM with
 * source maps, an explicit log group with retention, tracing off unless asked, and the Powertools/stage env.
 */
export class HouseFunction extends NodejsFunction {
  readonly logGroupRetentionDays: number;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    validateHouseFunctionProps(id, props);
    const { stage, logRetentionDays, serviceName, logRemovalPolicy, environment, bundling, ...rest } = props;

    // The log group must exist before super() so it can be passed in; it is a sibling under `scope`. A named function
    // logs where Lambda's own convention puts it (/aws/lambda/<name>), so operators find it by the function's name.
    const logGroup = new LogGroup(scope, `${id}LogGroup`, {
      logGroupName: rest.functionName && !Token.isUnresolved(rest.functionName) ? `/aws/lambda/${rest.functionName}` : undefined,
      retention: logRetentionDays as RetentionDays,
      removalPolicy: logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    // Not Lambda's managed execution policies, which may write to every log group of the account: a role that
    // writes to this function's log group only (and manages its network interfaces when it is in a VPC).
    const role = rest.role ?? functionRole(scope, `${id}ServiceRole`, { logGroup, inVpc: rest.vpc !== undefined });

    super(scope, id, {
      tracing: Tracing.DISABLED,
      ...rest,
      role,
      entry: props.entry,
      timeout: props.timeout,
      memorySize: props.memorySize,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceName ?? 'payment-monitor',
        STAGE: stage,
        NODE_OPTIONS: '--enable-source-maps',
        ...environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        banner: ESM_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        target: 'node22',
        ...bundling,
      },
    });
    this.logGroupRetentionDays = logRetentionDays;

    acknowledgeNag(
      this,
      'L1',
      'Node.js 22 is the house runtime on purpose: the esbuild target, the follower image and the tests all use it; a move to 24 is made for all of them at once.',
    );
  }
}

/** Throws a HouseFunctionConfigError listing every invalid prop. Exported for reuse in stage validation. */
export function validateHouseFunctionProps(id: string, props: HouseFunctionProps): void {
  const problems: string[] = [];
  if (!props.timeout.isUnresolved()) {
    const seconds = props.timeout.toSeconds();
    if (seconds <= 0 || seconds > MAX_LAMBDA_TIMEOUT.toSeconds()) {
      problems.push(`timeout must be between 1 second and 15 minutes (got ${props.timeout.toHumanString()})`);
    }
  }
  if (!Number.isInteger(props.memorySize) || props.memorySize < MIN_LAMBDA_MEMORY_MB || props.memorySize > MAX_LAMBDA_MEMORY_MB) {
    problems.push(
      `memorySize must be a whole number of MB between ${MIN_LAMBDA_MEMORY_MB} and ${MAX_LAMBDA_MEMORY_MB} (got ${props.memorySize})`,
    );
  }
  if (!isUnderHandlers(props.entry)) {
    problems.push(`entry must be a file under functions/handlers/ (got ${props.entry})`);
  }
  if (!VALID_RETENTION_DAYS.has(props.logRetentionDays)) {
    problems.push(
      `logRetentionDays must be one of ${[...VALID_RETENTION_DAYS].sort((a, b) => a - b).join(', ')} (got ${props.logRetentionDays})`,
    );
  }
  if (props.stage.trim() === '') problems.push('stage must be set');
  if (problems.length > 0) {
    throw new HouseFunctionConfigError(`HouseFunction "${id}" is invalid:\n- ${problems.join('\n- ')}`);
  }
}

function isUnderHandlers(entry: string): boolean {
  const segments = path.resolve(entry).split(path.sep);
  const fileName = segments.at(-1) ?? '';
  if (!/\.(ts|mts|js|mjs)$/.test(fileName)) return false;
  for (let i = 0; i < segments.length - 2; i += 1) {
    if (segments[i] === 'functions' && segments[i + 1] === 'handlers') return true;
  }
  return false;
}
