/**
 * Payout transactions as the chain carries them, for tests that feed the engine by hand: the signed CBOR the
 * processor submitted, decoded by the transaction library (CSL) into the engine's ChainTransaction.
 */
import CSL from '@emurgo/cardano-serialization-lib-nodejs';
import type { AssetQuantity, ChainTransaction, OutputReference, TransactionOutput } from '../../functions/domain/chain.js';

export function chainTransactionOf(signedCbor: Uint8Array): ChainTransaction {
  const transaction = CSL.FixedTransaction.from_bytes(signedCbor);
  const body = CSL.TransactionBody.from_bytes(transaction.raw_body());
  const inputs: OutputReference[] = [];
  for (let i = 0; i < body.inputs().len(); i++) {
    const input = body.inputs().get(i);
    inputs.push({ txId: input.transaction_id().to_hex(), index: input.index() });
  }
  const outputs: TransactionOutput[] = [];
  for (let i = 0; i < body.outputs().len(); i++) {
    const output = body.outputs().get(i);
    outputs.push({
      address: output.address().to_bech32(),
      lovelace: BigInt(output.amount().coin().to_str()),
      assets: assetsOf(output.amount()),
    });
  }
  return { id: transaction.transaction_hash().to_hex(), spends: 'inputs', inputs, collaterals: [], outputs };
}

function assetsOf(value: CSL.Value): AssetQuantity[] {
  const multiasset = value.multiasset();
  if (!multiasset) return [];
  const assets: AssetQuantity[] = [];
  const policies = multiasset.keys();
  for (let i = 0; i < policies.len(); i++) {
    const policy = policies.get(i);
    const names = multiasset.get(policy)!.keys();
    for (let j = 0; j < names.len(); j++) {
      const name = names.get(j);
      assets.push({
        policyId: policy.to_hex(),
        assetName: Buffer.from(name.name()).toString('hex'),
        quantity: BigInt(multiasset.get_asset(policy, name).to_str()),
      });
    }
  }
  return assets;
}
