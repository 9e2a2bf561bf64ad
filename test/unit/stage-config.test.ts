import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { placeholderAccountProblem, readStageConfig, StageConfigError } from '../../lib/config.js';

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

  it('validates the schedule time zone, backup retention, NAT gateways, follower size and database protection', () => {
    const broken = {
      ...stages.prod,
      scheduleTimeZone: 'Mars/Olympus',
      backup: { dailyRetentionDays: 30, weeklyRetentionDays: 14 },
      natGateways: 3,
      follower: { cpu: 256, memoryMiB: 4096 },
      database: { ...stages.prod.database, deletionProtection: 'yes', backupRetentionDays: 36 },
    };
    expect(() => readStageConfig({ prod: broken }, 'prod')).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(
          /database\.deletionProtection must be true or false[\s\S]*database\.backupRetentionDays must be a whole number of days between 1 and 35[\s\S]*scheduleTimeZone must be an IANA time zone[\s\S]*backup\.weeklyRetentionDays must be .* ≥ backup\.dailyRetentionDays[\s\S]*natGateways must be 1 or 2[\s\S]*follower\.cpu\/memoryMiB must be a Fargate size/,
        ),
      }),
    );
  });

  it('keeps prod protected: Multi-AZ, deletion protection, 30/90-day backups, a time zone', () => {
    const prod = readStageConfig(stages, 'prod');
    expect(prod.database).toMatchObject({ multiAz: true, deletionProtection: true });
    expect(prod.backup).toEqual({ dailyRetentionDays: 30, weeklyRetentionDays: 90 });
    expect(readStageConfig(stages, 'dev').database.deletionProtection).toBe(false);
    expect(prod.scheduleTimeZone).toBe('UTC');
  });

  it("refuses a mainnet stage that watches no hot wallet unless both hot-wallet alarms are turned off (the tutorial's five rules)", () => {
    expect(readStageConfig(stages, 'prod').hotWalletAddresses).toHaveLength(1);
    expect(() => readStageConfig({ prod: { ...stages.prod, hotWalletAddresses: [] } }, 'prod')).toThrow(
      /hotWalletAddresses is empty on mainnet: list the hot wallet\(s\) whose balance HotWalletLow\/HotWalletCritical watch/,
    );
    const optedOut = {
      ...stages.prod,
      hotWalletAddresses: [],
      alarms: { hotWalletBalance: { warning: { enabled: false }, critical: { enabled: false } } },
    };
    expect(readStageConfig({ prod: optedOut }, 'prod').hotWalletAddresses).toEqual([]);
    // A testnet stage may watch none (dev, staging).
    expect(readStageConfig(stages, 'dev').hotWalletAddresses).toEqual([]);
  });

  it("refuses a hot-wallet address of another network than the stage's", () => {
    const testnetAddress = 'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae';
    expect(() => readStageConfig({ prod: { ...stages.prod, hotWalletAddresses: [testnetAddress] } }, 'prod')).toThrow(
      /hotWalletAddresses: .*testnet address \(network id 0\) but NETWORK is mainnet/,
    );
  });

  it('refuses the example accounts when credentials name the real one, and lets an offline synth through', () => {
    const prod = readStageConfig(stages, 'prod');
    expect(prod.account).toBe('333333333333');
    expect(placeholderAccountProblem(prod, '123456789012')).toMatch(
      /Stage "prod" in cdk.json still has the example account 333333333333\. Set stages\.prod\.account .*your credentials are for 123456789012/,
    );
    expect(placeholderAccountProblem(prod, undefined)).toBeUndefined();
    expect(placeholderAccountProblem({ ...prod, account: '123456789012' }, '123456789012')).toBeUndefined();
  });
});
