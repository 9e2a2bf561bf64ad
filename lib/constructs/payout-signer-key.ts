import { DefaultStackSynthesizer, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, type IRole, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Alias, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The one signing algorithm a Cardano witness takes from KMS: pure Ed25519 over the 32-byte body hash (MessageType RAW). */
export const PAYOUT_SIGNING_ALGORITHM = 'ED25519_SHA_512';
/** KMS's longest waiting period before a scheduled deletion happens: a mistake can be cancelled for a month. */
export const PAYOUT_KEY_PENDING_WINDOW = Duration.days(30);
/** Who may never act on the key but the break-glass role: deleting it loses the hot wallet's funds; disabling it stops payouts. */
export const GUARDED_KEY_ACTIONS = ['kms:ScheduleKeyDeletion', 'kms:DisableKey'];
/**
 * Who may never act on the key but the break-glass role and the deploy (CloudFormation's execution role): rewriting
 * its policy would lift every denial here, and a grant would give kms:Sign (or anything else) outside the policy.
 * ReplicateKey and UpdatePrimaryRegion act on multi-Region keys only, which this key is not (KMS refuses them on a
 * single-Region key, and a key cannot become multi-Region): denied all the same, so that a replica can never be made
 * under a policy of its creator's choosing should the key ever be replaced by a multi-Region one.
 * This refuses the calls made as any other principal, an administrator's own included; it does not stop who can
 * assume either role (an IAM administrator can edit their trust policies) or deploy the stage from changing the
 * policy. CloudTrail records who did.
 */
export const POLICY_KEY_ACTIONS = ['kms:PutKeyPolicy', 'kms:CreateGrant', 'kms:ReplicateKey', 'kms:UpdatePrimaryRegion'];

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

export interface PayoutSignerKeyProps {
  /** dev, staging, prod: in the key's description. */
  readonly stage: string;
  /** `alias/payment-monitor/<stage>/payout-signer`: how operators find the key (never `alias/aws/…`). */
  readonly aliasName: string;
  /**
   * The IAM role that alone may schedule the key's deletion or disable it (`arn:aws:iam::<account>:role/<name>`), in
   * the stage's account. Created outside the stage, its trust policy requiring MFA; it needs not exist at deploy.
   */
  readonly breakGlassRoleArn: string;
}

export class PayoutSignerKeyConfigError extends Error {
  override readonly name = 'PayoutSignerKeyConfigError';
}

/**
 * The hot wallet's key: an AWS KMS Ed25519 key (ECC_NIST_EDWARDS25519, SIGN_VERIFY) whose private half never leaves
 * KMS; its public key is the hot wallet's address. Kept when its stack goes or replaces it (RETAIN: the funds are
 * only as safe as the key), a scheduled deletion waits 30 days, and its key policy denies to every principal but
 * the break-glass role scheduling its deletion or disabling it, to every principal but the one signer (`grantSign`)
 * signing with it, and to every principal but the break-glass role and the deploy's CloudFormation execution role
 * rewriting its policy or creating a grant on it. The account keeps administering it otherwise through IAM (the
 * default key policy). The denials name roles, not people: whoever can assume one of those roles (or have the
 * signer's role, or its function's code, changed) can do what it may; they make that deliberate and recorded in
 * CloudTrail, not impossible.
 */
export class PayoutSignerKey extends Construct {
  readonly key: Key;
  readonly alias: Alias;
  readonly breakGlassRoleArn: string;
  private signer?: IRole;

  constructor(scope: Construct, id: string, props: PayoutSignerKeyProps) {
    validatePayoutSignerKeyProps(id, props, Stack.of(scope).account);
    super(scope, id);
    this.breakGlassRoleArn = props.breakGlassRoleArn;
    this.key = new Key(this, 'Key', {
      description: `payment-monitor ${props.stage}: the hot wallet's Ed25519 key; signs payout transactions (kms:Sign by the payout processor only)`,
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Not RetainExceptOnCreate, as the stage's other kept resources are: deleting the key on a failed first deploy
      // would be refused by its own policy (below) and leave the stack in ROLLBACK_FAILED. Such a key holds no funds yet.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: PAYOUT_KEY_PENDING_WINDOW,
    });
    // The deploy updates the key policy (kms:PutKeyPolicy) as CloudFormation's execution role, which must therefore
    // stay allowed; KMS also refuses a policy that would stop its own caller from putting the next one (the lockout
    // safety check), so a deploy whose role were denied here could not even create the key.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyBreakGlassOrTheDeployRewritesOrGrants',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: POLICY_KEY_ACTIONS,
        resources: ['*'],
        conditions: { ArnNotLike: { 'aws:PrincipalArn': [props.breakGlassRoleArn, deployExecutionRoleArn(this)] } },
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyBreakGlassDeletesOrDisables',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: GUARDED_KEY_ACTIONS,
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.breakGlassRoleArn } },
      }),
    );
    // A fixed name, deleted with the stack (the key stays): a retry after a failed first deploy can create it again.
    this.alias = new Alias(this, 'Alias', { aliasName: props.aliasName, targetKey: this.key, removalPolicy: RemovalPolicy.DESTROY });
    this.node.addValidation({
      validate: () => (this.signer ? [] : [`${this.node.path}: no signer was granted kms:Sign (call grantSign once)`]),
    });
  }

  /**
   * Lets `role` sign with the key (kms:Sign with ED25519_SHA_512 only) and read its public key; every other principal
   * is denied kms:Sign by the key policy, whatever its IAM policies say. Once: the key has one signer.
   */
  grantSign(role: IRole): void {
    if (this.signer) throw new PayoutSignerKeyConfigError(`${this.node.path}: the key already has its signer (${this.signer.node.path})`);
    this.signer = role;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Sign'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:SigningAlgorithm': PAYOUT_SIGNING_ALGORITHM } },
      }),
    );
    role.addToPrincipalPolicy(new PolicyStatement({ actions: ['kms:GetPublicKey'], resources: [this.key.keyArn] }));
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyThePayoutProcessorSigns',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': role.roleArn } },
      }),
    );
  }
}

/**
 * The role CloudFormation deploys the key's stack as: CDK bootstrap's `cdk-<qualifier>-cfn-exec-role-<account>-<region>`
 * as the stack's DefaultStackSynthesizer names it (its qualifier, `hnb659fds` unless `@aws-cdk/core:bootstrapQualifier`
 * or the synthesizer's own says otherwise, or its `cloudFormationExecutionRole`). The synthesizer leaves
 * `${AWS::Partition}` (and, in an environment-agnostic stack, the account and region) as placeholders: Fn::Sub fills
 * them. Another synthesizer deploys with the CLI's own credentials, a principal the key policy cannot name: refused.
 */
function deployExecutionRoleArn(scope: Construct): string {
  const stack = Stack.of(scope);
  const synthesizer = stack.synthesizer;
  const arn = synthesizer instanceof DefaultStackSynthesizer ? synthesizer.cloudFormationExecutionRole : undefined;
  if (!arn) {
    throw new PayoutSignerKeyConfigError(
      `${scope.node.path}: stack ${stack.stackName} must be deployed through CDK bootstrap's CloudFormation execution role ` +
        `(DefaultStackSynthesizer), the one principal besides the break-glass role that may update the key's policy; ` +
        `its synthesizer is ${synthesizer.constructor.name}`,
    );
  }
  return arn.includes('${') ? Fn.sub(arn) : arn;
}

/** Throws a PayoutSignerKeyConfigError listing every invalid prop, before any resource exists. */
export function validatePayoutSignerKeyProps(id: string, props: PayoutSignerKeyProps, account: string): void {
  const problems: string[] = [];
  if (props.stage.trim() === '') problems.push('stage must be set');
  if (!ALIAS_NAME.test(props.aliasName) || props.aliasName.startsWith('alias/aws/')) {
    problems.push(`aliasName must be alias/<letters, digits, / _ ->, not under alias/aws/ (got "${props.aliasName}")`);
  }
  const role = ROLE_ARN.exec(props.breakGlassRoleArn);
  if (!role) {
    problems.push(`breakGlassRoleArn must be an IAM role ARN, arn:aws:iam::<account>:role/<name> (got "${props.breakGlassRoleArn}")`);
  } else if (!Token.isUnresolved(account) && role[1] !== account) {
    problems.push(`breakGlassRoleArn must be a role of the stage's account ${account} (got account ${role[1]})`);
  }
  if (problems.length > 0) throw new PayoutSignerKeyConfigError(`PayoutSignerKey "${id}" is invalid:\n- ${problems.join('\n- ')}`);
}
