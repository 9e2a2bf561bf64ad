export const LOVELACE_PER_ADA = 1_000_000n;

/** Exact ADA text from lovelace, for people: 12345678n → "12.345678". No float ever touches the amount. */
export function formatAda(lovelace: bigint): string {
  const sign = lovelace < 0n ? '-' : '';
  const magnitude = lovelace < 0n ? -lovelace : lovelace;
  const whole = magnitude / LOVELACE_PER_ADA;
  const fraction = (magnitude % LOVELACE_PER_ADA).toString().padStart(6, '0');
  return `${sign}${whole}.${fraction}`;
}

/** Lovelace from exact ADA text, for people: "12.5" → 12500000n. Undefined for anything else (negative, over 6 decimals). */
export function parseAda(text: string): bigint | undefined {
  const match = /^([0-9]{1,14})(?:\.([0-9]{1,6}))?$/.exec(text.trim());
  if (!match) return undefined;
  return BigInt(match[1] as string) * LOVELACE_PER_ADA + BigInt((match[2] ?? '').padEnd(6, '0'));
}
