/**
 * CDK composition root: `cdk synth|deploy -c stage=<name>` reads that stage's settings from cdk.json, validates
 * them, and builds the stage's stacks (lib/stage.ts). No AWS lookups: synth works offline. The cdk-nag
 * AwsSolutions pack checks every stack at synth; an unacknowledged finding fails the synth.
 */
import { App } from 'aws-cdk-lib';
import { readStageConfig } from '../lib/config.js';
import { registerNagChecks } from '../lib/nag.js';
import { buildStage } from '../lib/stage.js';

const app = new App();
const config = readStageConfig(app.node.tryGetContext('stages'), app.node.tryGetContext('stage'));
buildStage(app, config);
registerNagChecks(app);
app.synth();
