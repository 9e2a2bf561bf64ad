/**
 * CDK composition root: `cdk synth|deploy -c stage=<name>` reads that stage's settings from cdk.json,
 * validates them, and builds the stage's stacks. No AWS lookups: synth works offline.
 */
import { App } from 'aws-cdk-lib';
import { readStageConfig } from '../lib/config.js';

const app = new App();
const config = readStageConfig(app.node.tryGetContext('stages'), app.node.tryGetContext('stage'));
// The stacks (data, ingest, processing, observability) are composed here as they are built: see the README's
// "Deploy" section for what exists today.
app.node.addMetadata('payment-monitor:stage', config.stage);
app.synth();
