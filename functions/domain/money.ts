export const LOVELACE_PER_ADA = 1_000_000n;

/** Exact ADA text from lovelace, for people: 12345678n → "12.345678". No float ever touches the amount. */
export function formatAda(lovelace: bigint): string {
  const sign = lovelace < 0n ? '-' : '';
  const magnitude = lovelace < 0n ? -lovelace : lovelace;
  const whole = magnitude / LOVELACE_PER_ADA;
  const fraction = (magnitude % LOVELACE_PER_ADA).toString().padStart(6, '0');
  return `${sign}${whole}.${fraction}`;
}
