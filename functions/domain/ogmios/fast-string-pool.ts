/**
 * Recently kept strings: transaction ids, policy ids, asset names and addresses taken out of messages.
 *
 * Every string the decoder keeps has to be copied out of the message (a substring would keep the whole message
 * alive, see `copyOut`), and hashes, policy ids and asset names also have to be checked digit by digit. Both
 * cost more than the rest of reading them. Yet most of these strings repeat: within a block, one policy in many
 * outputs, several outputs of one transaction spent together, change going back to its sender; across blocks,
 * popular tokens and scripts. A string found here is reused as it is: it was checked when first kept and it
 * already lives outside any message.
 *
 * The pool is direct-mapped and fixed-size (a collision just replaces the entry), indexed by a hash of the
 * length and a few characters, and holds nothing but strings already handed out. Sharing it between decoders
 * is safe (strings are immutable) and bounds its memory to 2 × 4,096 short strings.
 */

const POOL_SIZE = 4096;
const POOL_MASK = POOL_SIZE - 1;
/**
 * Two pools: a string found in `hexEntries` is known to be lowercase hex, so its check can be skipped; an
 * address in the same pool could pass for a hash of the same characters.
 */
const hexEntries: string[] = new Array<string>(POOL_SIZE).fill('');
const otherEntries: string[] = new Array<string>(POOL_SIZE).fill('');

/** Below this length V8 copies a substring instead of making a view into its parent (SlicedString::kMinLength). */
const MIN_SLICED_STRING_LENGTH = 13;

const DIGIT_0 = 0x30;
const LOWER_A = 0x61;

/**
 * `text[start, end)` as a string that does not keep `text` alive, if it is lowercase hex digits; otherwise
 * undefined. `end` must not exceed `text.length`.
 */
export function keepLowercaseHex(text: string, start: number, end: number): string | undefined {
  const slot = slotOf(text, start, end);
  const pooled = hexEntries[slot] as string;
  if (pooled.length === end - start && text.slice(start, end) === pooled) return pooled;
  if (!isLowercaseHex(text, start, end)) return undefined;
  const kept = copyOut(text, start, end);
  hexEntries[slot] = kept;
  return kept;
}

/** `text[start, end)` as a string that does not keep `text` alive. */
export function keep(text: string, start: number, end: number): string {
  const slot = slotOf(text, start, end);
  const pooled = otherEntries[slot] as string;
  if (pooled.length === end - start && text.slice(start, end) === pooled) return pooled;
  const kept = copyOut(text, start, end);
  otherEntries[slot] = kept;
  return kept;
}

/**
 * A hash of the length and of the characters at both ends. Hashes, policy ids and bech32 addresses end in
 * random characters; hex asset names ("…2331", "…2332") differ mostly at the end. Equal strings always hash
 * alike; unequal strings that collide only cost a miss.
 */
function slotOf(text: string, start: number, end: number): number {
  const length = end - start;
  if (length === 0) return 0;
  let hash = Math.imul(length, 0x9e3779b1);
  hash = Math.imul(hash ^ text.charCodeAt(end - 1), 0x85ebca6b);
  hash = Math.imul(hash ^ text.charCodeAt(end - 1 - (length >> 2)), 0xc2b2ae35);
  hash = Math.imul(hash ^ text.charCodeAt(start + (length >> 1)), 0x27d4eb2f);
  hash = Math.imul(hash ^ text.charCodeAt(start), 0x165667b1);
  return (hash ^ (hash >>> 15)) & POOL_MASK;
}

/**
 * Whether `text[start, end)` is all lowercase hex digits. Branch-free on purpose: in real hashes digits and
 * letters alternate at random, so the obvious `if` per character mispredicts about half the time and runs three
 * to four times slower. For each character, `digit | (9 - digit)` is negative unless it is 0-9 and
 * `letter | (5 - letter)` unless it is a-f; their AND is negative only when it is neither.
 */
export function isLowercaseHex(text: string, start: number, end: number): boolean {
  if (end > text.length) return false;
  let invalid = 0;
  for (let position = start; position < end; position++) {
    const digit = text.charCodeAt(position) - DIGIT_0;
    const letter = digit - (LOWER_A - DIGIT_0);
    invalid |= (digit | (9 - digit)) & (letter | (5 - letter));
  }
  return invalid >= 0;
}

/**
 * `text[start, end)` as a string that does not keep `text` alive. V8 represents a substring of 13 or more
 * characters as a view into its parent, so keeping one would keep the whole message (up to megabytes) alive
 * for as long as, say, a pending payment's address is referenced.
 */
function copyOut(text: string, start: number, end: number): string {
  const slice = text.slice(start, end);
  return end - start < MIN_SLICED_STRING_LENGTH ? slice : detach(slice);
}

/** A flat copy of `text`: concatenation then slice makes V8 flatten into a fresh string (as the reference decoder does). */
export function detach(text: string): string {
  return ` ${text}`.slice(1);
}
