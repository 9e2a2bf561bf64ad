import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { InstanceType, Peer, Port, SecurityGroup, SubnetType, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  CaCertificate,
  type CfnDBInstance,
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  ParameterGroup,
  PerformanceInsightRetention,
  PostgresEngineVersion,
  StorageType,
} from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';
import { outboundSecurityGroup } from './egress.js';

export const DATABASE_NAME = 'payment_monitor';
export const DATABASE_PORT = 5432;
/** RDS storage autoscaling may grow the allocation up to this many times allocatedStorageGiB. */
export const STORAGE_AUTOSCALING_FACTOR = 2;
/**
 * Secrets Manager rotates the master password this often (single-user rotation, the AWS rotation application in
 * the private subnets). Clients read the password per new connection and re-read it when refused (pool.ts).
 */
export const PASSWORD_ROTATION = Duration.days(30);

export interface PaymentDatabaseProps {
  readonly vpc: IVpc;
  readonly stage: string;
  /** e.g. t4g.micro, m7g.large */
  readonly instanceClass: string;
  readonly allocatedStorageGiB: number;
  readonly multiAz: boolean;
  readonly deletionProtection: boolean;
  /** Automated backups and point-in-time recovery, 1–35 days. */
  readonly backupRetentionDays: number;
  readonly logRetentionDays: number;
  readonly secretName: string;
  /** RDS's daily automated-backup window (UTC, `hh:mm-hh:mm`) and weekly maintenance window (`ddd:hh:mm-ddd:hh:mm`). */
  readonly windows?: { readonly backupWindow: string; readonly maintenanceWindow: string };
  /** DB instance identifier; also names its PostgreSQL log group. */
  readonly instanceIdentifier: string;
}

export class PaymentDatabaseConfigError extends Error {
  override readonly name = 'PaymentDatabaseConfigError';
}

/**
 * The engine's PostgreSQL: RDS in isolated subnets, encrypted at rest, TLS forced by the parameter group
 * (`rds.force_ssl=1`; clients verify the certificate with `sslmode=verify-full`), automated backups with PITR,
 * credentials in a Secrets Manager secret rotated every 30 days. Only members of `clientSecurityGroup` reach it.
 */
export class PaymentDatabase extends Construct {
  readonly instance: DatabaseInstance;
  readonly secret: ISecret;
  /** Put a function or task in this group to let it connect; nothing else may. */
  readonly clientSecurityGroup: SecurityGroup;
  readonly parameterGroup: ParameterGroup;
  /**
   * With deletion protection: the custom resource that turns it on (RDS ModifyDBInstance). Make it depend on
   * everything else the first deploy creates, so that protection starts only once that deploy can no longer fail.
   */
  readonly deletionProtectionSwitch?: AwsCustomResource;
  /** Storage autoscaling's ceiling (maxAllocatedStorage): the free-storage alarms are a percentage of it. */
  readonly maxAllocatedStorageGiB: number;

  constructor(scope: Construct, id: string, props: PaymentDatabaseProps) {
    super(scope, id);
    const days = props.backupRetentionDays;
    if (!Number.isInteger(days) || days < 1 || days > 35) {
      throw new PaymentDatabaseConfigError(
        `PaymentDatabase "${id}": backupRetentionDays must be 1–35 (got ${days}); 0 would disable point-in-time recovery`,
      );
    }

    this.maxAllocatedStorageGiB = props.allocatedStorageGiB * STORAGE_AUTOSCALING_FACTOR;
    const engine = DatabaseInstanceEngine.postgres({ version: PostgresEngineVersion.VER_17 });
    this.parameterGroup = new ParameterGroup(this, 'Parameters', {
      engine,
      description: `payment-monitor ${props.stage}: TLS only`,
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000' },
    });
    const databaseSecurityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'payment-monitor database: PostgreSQL from the client group only',
      allowAllOutbound: false,
    });
    // Only PostgreSQL to the database: a member's other traffic (HTTPS to AWS APIs and Ogmios) is its own group's.
    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSecurityGroup', {
      vpc: props.vpc,
      description: 'payment-monitor database clients (no ingress)',
      allowAllOutbound: false,
    });
    // The egress rule is inline (the client group's only rule: no default allow-all), the ingress rule a resource of
    // its own (the group object as the peer), so the two groups do not refer to each other.
    this.clientSecurityGroup.addEgressRule(
      Peer.securityGroupId(databaseSecurityGroup.securityGroupId),
      Port.tcp(DATABASE_PORT),
      'PostgreSQL to the database',
    );
    databaseSecurityGroup.addIngressRule(this.clientSecurityGroup, Port.tcp(DATABASE_PORT), 'PostgreSQL from database clients');

    // Created here rather than through cloudwatchLogsRetention, which would add a log-retention Lambda per stack.
    const postgresLogs = new LogGroup(this, 'PostgresLogs', {
      logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/postgresql`,
      retention: props.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.instance = new DatabaseInstance(this, 'Instance', {
      instanceIdentifier: props.instanceIdentifier,
      engine,
      instanceType: new InstanceType(props.instanceClass),
      vpc: props.vpc,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_ISOLATED },
      securityGroups: [databaseSecurityGroup],
      port: DATABASE_PORT,
      databaseName: DATABASE_NAME,
      credentials: Credentials.fromGeneratedSecret('payment_monitor', { secretName: props.secretName }),
      parameterGroup: this.parameterGroup,
      caCertificate: CaCertificate.RDS_CA_RSA2048_G1,
      storageEncrypted: true,
      storageType: StorageType.GP3,
      allocatedStorage: props.allocatedStorageGiB,
      maxAllocatedStorage: this.maxAllocatedStorageGiB,
      multiAz: props.multiAz,
      // Not a template property (removed below when protected): set by deletionProtectionSwitch after the first deploy.
      deletionProtection: false,
      backupRetention: Duration.days(days),
      // The DatabaseCpuHigh runbook reads the top statements here: 7 days is the free tier.
      enablePerformanceInsights: true,
      performanceInsightRetention: PerformanceInsightRetention.DEFAULT,
      preferredBackupWindow: props.windows?.backupWindow,
      preferredMaintenanceWindow: props.windows?.maintenanceWindow,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      publiclyAccessible: false,
      cloudwatchLogsExports: ['postgresql'],
      removalPolicy: props.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    });
    this.instance.node.addDependency(postgresLogs);
    this.secret = this.instance.secret!;
    // The rotation Lambda calls Secrets Manager and the database: it runs where there is NAT egress (the isolated
    // subnets have no route out and the VPC no Secrets Manager endpoint); its own group is admitted on 5432.
    // Not at once on creation (CloudFormation's RotateImmediatelyOnUpdate default): the first deploy's migrations
    // read the password while the rotation would be changing it. The first rotation comes after 30 days.
    this.instance.addRotationSingleUser({
      automaticallyAfter: PASSWORD_ROTATION,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      rotateImmediatelyOnUpdate: false,
      // HTTPS to Secrets Manager; PostgreSQL to the database is added on both sides by the rotation itself.
      securityGroup: outboundSecurityGroup(this, 'RotationSecurityGroup', {
        vpc: props.vpc,
        description: 'payment-monitor password rotation: HTTPS to Secrets Manager, PostgreSQL to the database',
      }),
    });

    if (props.deletionProtection) {
      // RDS deletion protection in the template would make a failed first deploy unretryable: the rollback cannot
      // delete a protected instance (ROLLBACK_FAILED) and the retry finds its identifier taken. So the property is
      // left out of the template and this custom resource turns protection on, last, once the stack's other
      // resources exist. CloudFormation sends DeletionProtection to RDS only when the template's value changes, so
      // later deploys leave it on; deleting this resource (or the stack) does not turn it off.
      (this.instance.node.defaultChild as CfnDBInstance).addPropertyDeletionOverride('DeletionProtection');
      const enable = {
        service: 'RDS',
        action: 'modifyDBInstance',
        parameters: { DBInstanceIdentifier: props.instanceIdentifier, DeletionProtection: true, ApplyImmediately: true },
        physicalResourceId: PhysicalResourceId.of(`${props.instanceIdentifier}-deletion-protection`),
        outputPaths: ['DBInstance.DeletionProtection'],
      };
      const logGroup = new LogGroup(this, 'DeletionProtectionLogs', {
        retention: props.logRetentionDays as RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Its own role (not AWSLambdaBasicExecutionRole): this one call on this instance, and its own log group.
      const role = new Role(this, 'DeletionProtectionRole', {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: 'Turns on the database deletion protection after the first deploy',
      });
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
      );
      this.deletionProtectionSwitch = new AwsCustomResource(this, 'DeletionProtection', {
        resourceType: 'Custom::DatabaseDeletionProtection',
        onCreate: enable,
        onUpdate: enable,
        role,
        policy: AwsCustomResourcePolicy.fromStatements([
          new PolicyStatement({ actions: ['rds:ModifyDBInstance'], resources: [this.instance.instanceArn] }),
        ]),
        installLatestAwsSdk: false,
        logGroup,
      });
      this.deletionProtectionSwitch.node.addDependency(this.instance);
    }

    acknowledgeNag(
      this.instance,
      'RDS11',
      'The default PostgreSQL port is kept: the instance is in isolated subnets, reachable only from the client security group, so a non-default port adds no protection.',
    );
    acknowledgeNag(
      this.instance,
      'RDS6',
      'IAM database authentication is not used: clients authenticate with the rotated Secrets Manager password over verified TLS; IAM tokens would need a token refresh in every long-lived pool (the follower).',
    );
    if (!props.multiAz) {
      acknowledgeNag(
        this.instance,
        'RDS3',
        `Single-AZ by the ${props.stage} stage's configuration (database.multiAz=false): a non-production stage trades availability for cost; prod runs Multi-AZ.`,
      );
    }
    acknowledgeNag(
      this.instance,
      'RDS10',
      props.deletionProtection
        ? 'Deletion protection is on, but set by the DeletionProtection custom resource after the first deploy succeeded rather than in the template, where it would block the rollback of a failed first deploy.'
        : `No deletion protection by the ${props.stage} stage's configuration: a disposable stage must be removable with cdk destroy; prod has it.`,
    );
  }
}
