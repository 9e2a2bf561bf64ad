// CRC-32 as in zlib / IEEE 802.3 (reflected polynomial 0xEDB88320); Byron addresses carry one.

const TABLE = Uint32Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  return crc;
});

export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc = (TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8); // the index is always 0..255
  }
  return (crc ^ 0xffffffff) >>> 0;
}
