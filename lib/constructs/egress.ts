import { Peer, Port, SecurityGroup, type IVpc } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

/** HTTPS: every AWS API the workloads call (SQS, S3, DynamoDB, Secrets Manager, Lambda, ECR, Logs) and wss:// Ogmios. */
export const HTTPS_PORT = 443;

/**
 * The TCP ports of Ogmios relay URLs: the explicit port, else 443 for wss:// (https://) and 80 for ws:// (http://).
 * Sorted, without duplicates.
 */
export function ogmiosPorts(urls: readonly string[]): number[] {
  const ports = urls.map((url) => {
    const parsed = new URL(url);
    if (parsed.port !== '') return Number(parsed.port);
    return parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? 443 : 80;
  });
  return [...new Set(ports)].sort((a, b) => a - b);
}

export interface OutboundSecurityGroupProps {
  readonly vpc: IVpc;
  readonly description: string;
  /** The Ogmios relays the workload queries: their ports are opened too (443 already is). None: HTTPS only. */
  readonly ogmiosUrls?: readonly string[];
}

/**
 * A security group with no ingress and no egress but HTTPS (and the Ogmios relays' ports when given) to anywhere:
 * AWS APIs go through the NAT gateway or the S3/DynamoDB gateway endpoints, whose addresses are public. DNS (the
 * VPC resolver) and time sync are not filtered by security groups. PostgreSQL comes from the database's client group.
 */
export function outboundSecurityGroup(scope: Construct, id: string, props: OutboundSecurityGroupProps): SecurityGroup {
  const group = new SecurityGroup(scope, id, { vpc: props.vpc, description: props.description, allowAllOutbound: false });
  group.addEgressRule(Peer.anyIpv4(), Port.tcp(HTTPS_PORT), 'HTTPS: AWS APIs (NAT, gateway endpoints) and wss:// Ogmios');
  for (const port of ogmiosPorts(props.ogmiosUrls ?? [])) {
    if (port !== HTTPS_PORT) group.addEgressRule(Peer.anyIpv4(), Port.tcp(port), `Ogmios relay port ${port}`);
  }
  return group;
}
