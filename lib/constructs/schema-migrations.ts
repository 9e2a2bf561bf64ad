import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { acknowledgeNag, functionVersionsFinding } from '../nag.js';
import { outboundSecurityGroup } from './egress.js';
import { functionRole } from './function-role.js';
import { HouseFunction } from './house-function.js';

const MIGRATIONS_SOURCE = fileURLToPath(new URL('../../functions/migrations/', import.meta.url));
const MIGRATE_ENTRY = fileURLToPath(new URL('../../functions/handlers/migrate.ts', import.meta.url));
/** Where the SQL files sit in the deployed bundle (the handler reads MIGRATIONS_DIRECTORY). */
export const BUNDLED_MIGRATIONS_DIRECTORY = '/var/task/migrations';

/** sha256 over the names and contents of functions/migrations/*.sql: a new or changed file re-runs the resource. */
export function migrationsFingerprint(directory = MIGRATIONS_SOURCE): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(directory)
    .filter((name) => name.endsWith('.sql'))
    .sort()) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(directory, file)))
      .update('\0');
  }
  return hash.digest('hex');
}

export interface SchemaMigrationsProps {
  readonly stage: string;
  readonly functionName: string;
  readonly vpc: IVpc;
  readonly vpcSubnets: SubnetSelection;
  /** The database's client group. */
  readonly securityGroup: ISecurityGroup;
  readonly databaseSecret: ISecret;
  readonly logRetentionDays: number;
  /** The migrations run after these exist (the database instance). */
  readonly after: IDependable[];
}

/**
 * Applies functions/migrations/*.sql on every deploy that changes them, through a custom resource (CDK Provider
 * framework) backed by the migration Lambda. The SQL files are copied into the bundle after esbuild.
 */
export class SchemaMigrations extends Construct {
  readonly function: HouseFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: SchemaMigrationsProps) {
    super(scope, id);
    this.function = new HouseFunction(this, 'Function', {
      entry: MIGRATE_ENTRY,
      functionName: props.functionName,
      stage: props.stage,
      description: 'Applies the schema migrations on deploy (CloudFormation custom resource)',
      timeout: Duration.minutes(5),
      memorySize: 512,
      logRetentionDays: props.logRetentionDays,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      // The client group reaches PostgreSQL; reading the database secret takes HTTPS (Secrets Manager, through the NAT).
      securityGroups: [
        props.securityGroup,
        outboundSecurityGroup(this, 'SecurityGroup', {
          vpc: props.vpc,
          description: 'payment-monitor migrations: HTTPS to Secrets Manager',
        }),
      ],
      environment: {
        DATABASE_SECRET_ARN: props.databaseSecret.secretArn,
        MIGRATIONS_DIRECTORY: BUNDLED_MIGRATIONS_DIRECTORY,
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
      bundling: {
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            `mkdir -p "${outputDir}/migrations"`,
            `cp "${inputDir}"/functions/migrations/*.sql "${outputDir}/migrations/"`,
          ],
        },
      },
    });
    props.databaseSecret.grantRead(this.function);

    const providerLogs = new LogGroup(this, 'ProviderLogs', {
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The relay writes to its own log group only (not AWSLambdaBasicExecutionRole's every log group).
    const providerRole = functionRole(this, 'ProviderRole', { logGroup: providerLogs, inVpc: false });
    const provider = new Provider(this, 'Provider', {
      onEventHandler: this.function,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::SchemaMigrations',
      properties: { MigrationsFingerprint: migrationsFingerprint() },
    });
    for (const dependency of props.after) this.resource.node.addDependency(dependency);

    acknowledgeNag(
      providerRole,
      functionVersionsFinding(this.function),
      "The Provider framework may invoke the migration function's versions; it is the only function it can invoke.",
    );
  }
}
