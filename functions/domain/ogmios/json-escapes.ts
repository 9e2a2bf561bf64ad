/** JSON string escapes, shared by the lossless parser and the single-pass block decoder. */

/** The value of a hex digit's character code, or -1. */
export function hexDigitValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Decodes the escape sequence whose backslash is at `backslash`: the character it stands for, or, when the
 * sequence is invalid, the position of the first offending character (the caller words the error).
 */
export function decodeJsonEscape(text: string, backslash: number): string | { invalidAt: number } {
  switch (text.charCodeAt(backslash + 1)) {
    case 0x22:
      return '"';
    case 0x5c:
      return '\\';
    case 0x2f:
      return '/';
    case 0x62:
      return '\b';
    case 0x66:
      return '\f';
    case 0x6e:
      return '\n';
    case 0x72:
      return '\r';
    case 0x74:
      return '\t';
    case 0x75: {
      // Four hex digits give one UTF-16 code unit: a surrogate pair arrives as two escapes, and a lone
      // surrogate is kept, as JSON.parse keeps it.
      let unit = 0;
      for (let offset = 2; offset < 6; offset++) {
        const digit = hexDigitValue(text.charCodeAt(backslash + offset));
        if (digit < 0) return { invalidAt: backslash + offset };
        unit = unit * 16 + digit;
      }
      return String.fromCharCode(unit);
    }
    default:
      return { invalidAt: backslash + 1 };
  }
}
