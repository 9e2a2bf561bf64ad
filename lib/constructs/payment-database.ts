import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { InstanceType, Peer, Port, SecurityGroup, SubnetType, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  CaCertificate,
  Credentials,
  DatabaseInstance,
  DatabaseInstanceEngine,
  ParameterGroup,
  PostgresEngineVersion,
  StorageType,
} from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledgeNag } from '../nag.js';

export const DATABASE_NAME = 'payment_monitor';
export const DATABASE_PORT = 5432;
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

  constructor(scope: Construct, id: string, props: PaymentDatabaseProps) {
    super(scope, id);
    const days = props.backupRetentionDays;
    if (!Number.isInteger(days) || days < 1 || days > 35) {
      throw new PaymentDatabaseConfigError(
        `PaymentDatabase "${id}": backupRetentionDays must be 1–35 (got ${days}); 0 would disable point-in-time recovery`,
      );
    }

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
    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSecurityGroup', {
      vpc: props.vpc,
      description: 'payment-monitor database clients (no ingress)',
      allowAllOutbound: true,
    });
    databaseSecurityGroup.addIngressRule(
      Peer.securityGroupId(this.clientSecurityGroup.securityGroupId),
      Port.tcp(DATABASE_PORT),
      'PostgreSQL from database clients',
    );

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
      maxAllocatedStorage: props.allocatedStorageGiB * 2,
      multiAz: props.multiAz,
      deletionProtection: props.deletionProtection,
      backupRetention: Duration.days(days),
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
    this.instance.addRotationSingleUser({
      automaticallyAfter: PASSWORD_ROTATION,
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
    });

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
    if (!props.deletionProtection) {
      acknowledgeNag(
        this.instance,
        'RDS10',
        `No deletion protection by the ${props.stage} stage's configuration: a disposable stage must be removable with cdk destroy; prod has it.`,
      );
    }
  }
}
