/**
 * The callers of the IAM (SigV4) API: IAM roles named in the stage's config (cdk.json `api.iamPrincipals`), each
 * with a scope. API Gateway lets only them in (the API's resource policy); the API Lambda maps the caller's ARN to
 * its role and scope. A role's session calls as `arn:aws:sts::<account>:assumed-role/<role name>/<session>`, which
 * names the role without its path: a role is recognised by partition, account and name (unique in an account).
 * Nobody else has a scope: an IAM caller not listed is refused (403).
 */
import { impliedScopes, isScope, type Principal, type Scope } from './api-keys.js';

export interface IamPrincipal {
  /** The role's ARN, `arn:<partition>:iam::<account>:role/[<path>/]<name>`: the actor in audit_log and the idempotency principal. */
  readonly arn: string;
  readonly scope: Scope;
}

/** An IAM role's ARN: partition, account, optional path, name (IAM's characters, 64 at most). */
const ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;
/** The ARN of a role's session as API Gateway reports it (`$context.identity.userArn`). */
const ASSUMED_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/[\w+=,.@-]+$/;

/** The role's identity without its path: `<partition>:<account>:<name>`; undefined when `arn` is not a role's ARN. */
function roleKeyOfRoleArn(arn: string): string | undefined {
  const match = ROLE_ARN.exec(arn);
  return match ? `${match[1]}:${match[2]}:${match[4]}` : undefined;
}

/** The role of a caller's ARN (a role session's, or the role's own): `<partition>:<account>:<name>`, or undefined. */
export function callerRoleKey(callerArn: string): string | undefined {
  const session = ASSUMED_ROLE_ARN.exec(callerArn);
  return session ? `${session[1]}:${session[2]}:${session[3]}` : roleKeyOfRoleArn(callerArn);
}

/** At most this many roles: they fill the API's resource policy (8 KB) and the function's environment (4 KB). */
export const MAX_IAM_PRINCIPALS = 20;

/** Every problem of a list of principals (empty when valid): `where` prefixes each ("api.iamPrincipals[0]"). */
export function iamPrincipalProblems(raw: unknown, where: string): string[] {
  if (!Array.isArray(raw)) return [`${where} must be a list of { "arn": "<IAM role ARN>", "scope": "read|write|admin" }`];
  const problems: string[] = [];
  if (raw.length > MAX_IAM_PRINCIPALS) {
    problems.push(
      `${where} lists ${raw.length} roles; at most ${MAX_IAM_PRINCIPALS} (the API's resource policy and the function's environment are bounded)`,
    );
  }
  const seen = new Map<string, number>();
  raw.forEach((entry, index) => {
    const at = `${where}[${index}]`;
    const { arn, scope } = (entry ?? {}) as { arn?: unknown; scope?: unknown };
    const key = typeof arn === 'string' ? roleKeyOfRoleArn(arn) : undefined;
    if (key === undefined) {
      problems.push(
        `${at}.arn must be an IAM role's ARN, arn:aws:iam::<12-digit account>:role/<name> (got ${JSON.stringify(arn)}; users and sessions are not accepted: name the role)`,
      );
    } else if (seen.has(key)) {
      problems.push(`${at}.arn names the same role as ${where}[${seen.get(key)}] (a role is recognised by account and name, not path)`);
    } else {
      seen.set(key, index);
    }
    if (!isScope(scope)) problems.push(`${at}.scope must be read, write or admin (got ${JSON.stringify(scope)})`);
  });
  return problems;
}

/** The principals as the API Lambda's environment carries them: `<role ARN>=<scope>`, comma-separated. */
export function formatIamPrincipals(principals: readonly IamPrincipal[]): string {
  return principals.map(({ arn, scope }) => `${arn}=${scope}`).join(',');
}

export class IamPrincipalsError extends Error {
  override readonly name = 'IamPrincipalsError';
}

/** The inverse of formatIamPrincipals; undefined or blank text: none. Throws naming every problem. */
export function parseIamPrincipals(text: string | undefined, name = 'API_IAM_PRINCIPALS'): IamPrincipal[] {
  if (text === undefined || text.trim() === '') return [];
  const principals = text.split(',').map((item) => {
    const separator = item.lastIndexOf('=');
    return separator < 0
      ? { arn: item.trim(), scope: undefined }
      : { arn: item.slice(0, separator).trim(), scope: item.slice(separator + 1).trim() };
  });
  const problems = iamPrincipalProblems(principals, name);
  if (problems.length > 0)
    throw new IamPrincipalsError(`${name} is invalid (<role ARN>=<scope>, comma-separated):\n- ${problems.join('\n- ')}`);
  return principals as IamPrincipal[];
}

/** Who the IAM API's callers are: the caller's ARN to its configured role and scope. */
export class IamCallers {
  private readonly byRole: ReadonlyMap<string, IamPrincipal>;

  constructor(readonly principals: readonly IamPrincipal[]) {
    this.byRole = new Map(principals.map((principal) => [roleKeyOfRoleArn(principal.arn)!, principal]));
  }

  /** The caller as the router sees it (actor: the role's ARN, not the session's); undefined when not configured. */
  principalOf(callerArn: string): Principal | undefined {
    const key = callerRoleKey(callerArn);
    const principal = key === undefined ? undefined : this.byRole.get(key);
    return principal && { keyId: principal.arn, scopes: impliedScopes(principal.scope), source: 'iam' };
  }
}
