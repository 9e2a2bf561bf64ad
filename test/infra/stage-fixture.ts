/** Synthesizes a whole stage from cdk.json (bundling skipped: no esbuild, no Docker), with cdk-nag registered. */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readStageConfig, type StageConfig } from '../../lib/config.js';
import { VPC_NETWORK_INTERFACE_ACTIONS } from '../../lib/constructs/function-role.js';
import { registerNagChecks } from '../../lib/nag.js';
import { buildStage, type PaymentMonitorStage } from '../../lib/stage.js';

export const STAGES = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context.stages as Record<
  string,
  unknown
>;

export interface SynthesizedStage {
  config: StageConfig;
  stage: PaymentMonitorStage;
  templates: {
    data: Template;
    events: Template;
    processing: Template;
    ingest: Template;
    operations: Template;
    api: Template;
    observability: Template;
  };
  /** AwsSolutions findings nobody acknowledged (from validation-report.json; the synth fails when there are any). */
  unacknowledged: string[];
  /** Every AwsSolutions acknowledgement written into the templates' metadata: resource, id and reason. */
  acknowledgements: { resource: string; id: string; reason: string }[];
  synthError?: Error;
  /** Context the synth would have to look up in AWS (the CLI then needs credentials): must be empty. */
  missingContext: string[];
}

interface PluginReport {
  pluginName: string;
  violations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
}

export function stageConfig(stage: string, overrides: Partial<StageConfig> = {}): StageConfig {
  return { ...readStageConfig(STAGES, stage), ...overrides };
}

/** `extend` adds constructs to the stage before the synth (a negative control for the nag check). */
export function synthesizeStage(config: StageConfig, extend?: (stage: PaymentMonitorStage) => void): SynthesizedStage {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stage = buildStage(app, config);
  extend?.(stage);
  registerNagChecks(app);
  let synthError: Error | undefined;
  let directory: string;
  let missingContext: string[] = [];
  try {
    const assembly = app.synth();
    directory = assembly.directory;
    missingContext = (assembly.manifest.missing ?? []).map((missing) => `${missing.provider}: ${missing.key}`);
  } catch (error) {
    // A failed validation still writes its report; any other error is reported by the tests.
    synthError = error as Error;
    directory = app.outdir;
  }
  let unacknowledged: string[] = [];
  if (synthError) {
    const report = JSON.parse(readFileSync(`${directory}/validation-report.json`, 'utf8')) as { pluginReports: PluginReport[] };
    unacknowledged = report.pluginReports
      .filter((plugin) => plugin.pluginName === 'AwsSolutions')
      .flatMap((plugin) => plugin.violations ?? [])
      .flatMap((violation) => violation.violatingConstructs.map((construct) => `${violation.ruleName} at ${construct.constructPath}`));
  }
  if (synthError) {
    // Template.fromStack would synthesize again and throw: a failed stage has only its findings to show.
    return { config, stage, templates: undefined as never, unacknowledged, acknowledgements: [], synthError, missingContext };
  }
  const templates = {
    data: Template.fromStack(stage.data),
    events: Template.fromStack(stage.events),
    processing: Template.fromStack(stage.processing),
    ingest: Template.fromStack(stage.ingest),
    operations: Template.fromStack(stage.operations),
    api: Template.fromStack(stage.api),
    observability: Template.fromStack(stage.observability),
  };
  const acknowledgements = Object.values(templates).flatMap((template) =>
    Object.entries(
      template.toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }>,
    ).flatMap(([resource, { Metadata }]) =>
      (Metadata?.cdk_nag?.rules_to_suppress ?? [])
        .filter(({ id }) => id.startsWith('AwsSolutions-'))
        .map(({ id, reason }) => ({ resource, id, reason })),
    ),
  );
  return {
    config,
    stage,
    templates,
    unacknowledged,
    acknowledgements,
    synthError,
    missingContext,
  };
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** Every statement of the inline policies attached to the role whose logical id starts with `rolePrefix`. */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) => JSON.stringify((policy as { Properties: { Roles: unknown } }).Properties.Roles).includes(`"${rolePrefix}`))
    .flatMap((policy) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
}

/**
 * What a function's role holds beyond its execution basics (lib/constructs/function-role.ts): writing to its own log
 * group, and the network-interface actions of a function in a VPC. Those two are asserted on their own.
 */
export function grantedStatements(template: Template, rolePrefix: string): Statement[] {
  const basics = (statement: Statement) =>
    JSON.stringify(statement.Action) === JSON.stringify(['logs:CreateLogStream', 'logs:PutLogEvents']) ||
    JSON.stringify(statement.Action) === JSON.stringify(VPC_NETWORK_INTERFACE_ACTIONS);
  return roleStatements(template, rolePrefix).filter((statement) => !basics(statement));
}

export function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action])).sort();
}
