/**
 * CDK composition root: `cdk synth|deploy -c stage=<name>` reads that stage's settings from cdk.json, validates
 * them, and builds the stage's stacks (lib/stage.ts). No AWS lookups: synth works offline. The cdk-nag
 * AwsSolutions pack checks every stack at synth; an unacknowledged finding fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { processEnvironment } from '../functions/config/environment.js';
import { PLACEHOLDER_ACCOUNT, placeholderAccountProblem, readStageConfig } from '../lib/config.js';
import { registerNagChecks } from '../lib/nag.js';
import { buildStage } from '../lib/stage.js';

const app = new App();
const config = readStageConfig(app.node.tryGetContext('stages'), app.node.tryGetContext('stage'));
// With credentials (a deploy always has them; the CLI passes their account as CDK_DEFAULT_ACCOUNT) an example account
// is refused; offline, synth still works.
const placeholder = placeholderAccountProblem(config, processEnvironment().CDK_DEFAULT_ACCOUNT);
if (placeholder) {
  console.error(placeholder);
  process.exit(1);
}
if (PLACEHOLDER_ACCOUNT.test(config.account)) {
  console.error(`Note: stage "${config.stage}" uses the example account ${config.account}; set your own in cdk.json before deploying.`);
}
buildStage(app, config);
registerNagChecks(app);
app.synth();
