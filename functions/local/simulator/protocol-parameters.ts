/**
 * The simulator's protocol parameters: mainnet's Conway values (protocol version 10), served by
 * `queryLedgerState/protocolParameters` and applied by the submission rules (fee, sizes, minimum deposit), so that
 * a transaction built from the query's answer is judged by the same numbers. Plutus cost models are left out
 * (the simulator runs no scripts; the schema does not require them).
 */
import type { JsonWritable } from './json-writer.js';

export interface SimulatorProtocolParameters {
  /** Lovelace per byte of the serialised transaction. */
  readonly minFeeCoefficient: bigint;
  /** Lovelace added to every fee. */
  readonly minFeeConstant: bigint;
  readonly maxTransactionSize: number;
  readonly maxValueSize: number;
  /** Lovelace per byte of an output, counting 160 bytes of overhead (Babbage and later). */
  readonly minUtxoDepositCoefficient: bigint;
}

export const PROTOCOL_PARAMETERS: SimulatorProtocolParameters = {
  minFeeCoefficient: 44n,
  minFeeConstant: 155_381n,
  maxTransactionSize: 16_384,
  maxValueSize: 5000,
  minUtxoDepositCoefficient: 4310n,
};

/** Bytes every output is counted with on top of its own serialisation (the UTxO entry's overhead). */
export const OUTPUT_OVERHEAD_BYTES = 160n;

/** The minimum fee of a transaction of `size` bytes without scripts. */
export function minimumFee(size: number, parameters: SimulatorProtocolParameters = PROTOCOL_PARAMETERS): bigint {
  return parameters.minFeeCoefficient * BigInt(size) + parameters.minFeeConstant;
}

/** The minimum lovelace of an output of `size` serialised bytes. */
export function minimumDeposit(size: number, parameters: SimulatorProtocolParameters = PROTOCOL_PARAMETERS): bigint {
  return (OUTPUT_OVERHEAD_BYTES + BigInt(size)) * parameters.minUtxoDepositCoefficient;
}

const ada = (lovelace: bigint): JsonWritable => ({ ada: { lovelace } });

/** The `result` of `queryLedgerState/protocolParameters`, in Ogmios' key order. */
export function protocolParametersJson(parameters: SimulatorProtocolParameters = PROTOCOL_PARAMETERS): JsonWritable {
  return {
    minFeeCoefficient: parameters.minFeeCoefficient,
    minFeeConstant: ada(parameters.minFeeConstant),
    minFeeReferenceScripts: { range: 25_600, base: 15, multiplier: 1.2 },
    maxBlockBodySize: { bytes: 90_112 },
    maxBlockHeaderSize: { bytes: 1100 },
    maxTransactionSize: { bytes: parameters.maxTransactionSize },
    maxReferenceScriptsSize: { bytes: 204_800 },
    stakeCredentialDeposit: ada(2_000_000n),
    stakePoolDeposit: ada(500_000_000n),
    stakePoolRetirementEpochBound: 18,
    desiredNumberOfStakePools: 500,
    stakePoolPledgeInfluence: '3/10',
    monetaryExpansion: '3/1000',
    treasuryExpansion: '1/5',
    minStakePoolCost: ada(170_000_000n),
    minUtxoDepositConstant: ada(0n),
    minUtxoDepositCoefficient: parameters.minUtxoDepositCoefficient,
    scriptExecutionPrices: { memory: '577/10000', cpu: '721/10000000' },
    maxExecutionUnitsPerTransaction: { memory: 16_500_000, cpu: 10_000_000_000 },
    maxExecutionUnitsPerBlock: { memory: 72_000_000, cpu: 20_000_000_000 },
    maxValueSize: { bytes: parameters.maxValueSize },
    collateralPercentage: 150,
    maxCollateralInputs: 3,
    version: { major: 10, minor: 0 },
    stakePoolVotingThresholds: {
      noConfidence: '51/100',
      constitutionalCommittee: { default: '51/100', stateOfNoConfidence: '51/100' },
      hardForkInitiation: '51/100',
      protocolParametersUpdate: { security: '51/100' },
    },
    delegateRepresentativeVotingThresholds: {
      noConfidence: '67/100',
      constitutionalCommittee: { default: '67/100', stateOfNoConfidence: '3/5' },
      constitution: '3/4',
      hardForkInitiation: '3/5',
      protocolParametersUpdate: { network: '67/100', economic: '67/100', technical: '67/100', governance: '3/4' },
      treasuryWithdrawals: '67/100',
    },
    constitutionalCommitteeMinSize: 7,
    constitutionalCommitteeMaxTermLength: 146,
    governanceActionLifetime: 6,
    governanceActionDeposit: ada(100_000_000_000n),
    delegateRepresentativeDeposit: ada(500_000_000n),
    delegateRepresentativeMaxIdleTime: 20,
  };
}
