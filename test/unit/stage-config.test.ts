import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readStageConfig, StageConfigError } from '../../lib/config.js';

const stages = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context.stages;

describe('stage configuration', () => {
  it.each(['dev', 'staging', 'prod'])('reads and validates the %s stage from cdk.json', (stage) => {
    const config = readStageConfig(stages, stage);
    expect(config.stage).toBe(stage);
    expect(config.confirmations).toBeGreaterThanOrEqual(1);
  });

  it('asks for a stage when none is given, and names the known ones for an unknown stage', () => {
    expect(() => readStageConfig(stages, undefined)).toThrow(/-c stage=/);
    expect(() => readStageConfig(stages, 'qa')).toThrow(/Unknown stage "qa"; cdk.json defines dev, staging, prod/);
  });

  it('reports every problem of an invalid stage at once', () => {
    const broken = { ...stages.prod, network: 'testnet', confirmations: 0, ogmiosUrls: ['http://x'] };
    const error = (() => {
      try {
        readStageConfig({ prod: broken }, 'prod');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(StageConfigError);
    expect(error!.message).toContain('network must be one of mainnet, preprod, preview');
    expect(error!.message).toContain('confirmations must be a whole number');
    expect(error!.message).toContain('ogmiosUrls must be');
  });
});
