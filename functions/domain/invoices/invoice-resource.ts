/**
 * The invoice as the API returns it and as its events carry it (one shape for every channel). Quantities are
 * decimal strings; amounts have the request's shape: {"lovelace": "…", "assets": {"<policy>.<name hex>": "…"}}.
 */
import { inChainOrder } from '../chain-order.js';
import {
  type AdditionalStatus,
  type Asset,
  type AssetAmounts,
  unexpectedAssetsOf,
  type InvoicePayment,
  type InvoiceStatus,
  LOVELACE,
  paymentTiming,
  type PaymentTiming,
} from './invoice-rules.js';

/** An invoice as stored: its terms and its last judgement. */
export interface InvoiceRecord {
  id: string;
  referenceId: string;
  userId: string | null;
  address: string;
  /** The account key and index the address was derived from; null when the invoice was given its address. */
  derivedFrom: { accountId: string; index: number } | null;
  amount: AssetAmounts;
  confirmations: number;
  createdAt: Date;
  expiresAt: Date;
  monitoringUntil: Date;
  status: InvoiceStatus;
  additionalStatus: AdditionalStatus;
  paid: AssetAmounts;
  settlesAtHeight: bigint | null;
  everSettled: boolean;
  expired: boolean;
  settledAt: Date | null;
}

/** What a new invoice holds before any judgement: nothing paid, nothing settled or expired. */
export function notYetJudged(): Pick<
  InvoiceRecord,
  'status' | 'additionalStatus' | 'paid' | 'settlesAtHeight' | 'everSettled' | 'expired' | 'settledAt'
> {
  return {
    status: 'new',
    additionalStatus: 'none',
    paid: new Map([[LOVELACE, 0n]]),
    settlesAtHeight: null,
    everSettled: false,
    expired: false,
    settledAt: null,
  };
}

/** An on-chain payment of the invoice with what the engine knows of it. */
export interface InvoicePaymentView extends InvoicePayment {
  status: 'pending' | 'confirmed';
}

export interface AmountJson {
  lovelace: string;
  assets: Record<Asset, string>;
}

export interface InvoiceResource {
  id: string;
  reference_id: string;
  user_id: string | null;
  address: string;
  account: { id: string; index: number } | null;
  amount: AmountJson;
  paid: AmountJson;
  /** What is still missing of each asked asset (zero once paid in full). */
  due: AmountJson;
  unexpected_assets: Asset[];
  confirmations: number;
  status: InvoiceStatus;
  additional_status: AdditionalStatus;
  created_at: string;
  expires_at: string;
  monitoring_until: string;
  settled_at: string | null;
  payments: {
    tx_hash: string;
    output_index: number;
    status: 'pending' | 'confirmed';
    timing: PaymentTiming;
    amount: AmountJson;
    block: { height: number; time: string };
  }[];
}

export function invoiceResource(invoice: InvoiceRecord, payments: readonly InvoicePaymentView[]): InvoiceResource {
  const due = new Map<Asset, bigint>();
  for (const [asset, quantity] of invoice.amount) {
    const missing = quantity - (invoice.paid.get(asset) ?? 0n);
    due.set(asset, missing > 0n ? missing : 0n);
  }
  return {
    id: invoice.id,
    reference_id: invoice.referenceId,
    user_id: invoice.userId,
    address: invoice.address,
    account: invoice.derivedFrom ? { id: invoice.derivedFrom.accountId, index: invoice.derivedFrom.index } : null,
    amount: amountJson(invoice.amount),
    paid: amountJson(invoice.paid),
    due: amountJson(due),
    unexpected_assets: unexpectedAssetsOf(invoice.amount, invoice.paid),
    confirmations: invoice.confirmations,
    status: invoice.status,
    additional_status: invoice.additionalStatus,
    created_at: invoice.createdAt.toISOString(),
    expires_at: invoice.expiresAt.toISOString(),
    monitoring_until: invoice.monitoringUntil.toISOString(),
    settled_at: invoice.settledAt?.toISOString() ?? null,
    payments: [...payments].sort(inChainOrder).map((payment) => ({
      tx_hash: payment.txId,
      output_index: payment.index,
      status: payment.status,
      timing: paymentTiming(invoice, payment.blockTime),
      amount: amountJson(payment.amounts),
      block: { height: Number(payment.blockHeight), time: payment.blockTime.toISOString() },
    })),
  };
}

/** {"lovelace": "…", "assets": {…}}: lovelace always present, tokens sorted, zero quantities of tokens left out. */
export function amountJson(amounts: AssetAmounts): AmountJson {
  const assets: Record<Asset, string> = {};
  for (const asset of [...amounts.keys()].filter((key) => key !== LOVELACE).sort()) {
    const quantity = amounts.get(asset) ?? 0n;
    if (quantity !== 0n) assets[asset] = quantity.toString();
  }
  return { lovelace: (amounts.get(LOVELACE) ?? 0n).toString(), assets };
}

/** The inverse of amountJson for stored values (already validated); the API validates requests itself. */
export function amountsFromJson(json: { lovelace?: string; assets?: Record<Asset, string> }): Map<Asset, bigint> {
  const amounts = new Map<Asset, bigint>();
  if (json.lovelace !== undefined && BigInt(json.lovelace) !== 0n) amounts.set(LOVELACE, BigInt(json.lovelace));
  for (const [asset, quantity] of Object.entries(json.assets ?? {})) amounts.set(asset, BigInt(quantity));
  return amounts;
}
