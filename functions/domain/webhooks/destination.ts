/**
 * Which addresses a webhook may connect to on AWS: public unicast only. Refused: unspecified, loopback, private
 * (RFC 1918), carrier-grade NAT (100.64/10), link-local (169.254/16, the instance metadata 169.254.169.254 among
 * them), reserved, documentation and benchmarking ranges; in IPv6 anything outside global unicast (2000::/3) and
 * its special ranges, but for the IPv4-mapped / NAT64 / 6to4 forms of a public IPv4 address. The deliverer checks
 * the very address it connects to (it resolves the name itself and connects to the checked address), so DNS cannot
 * steer it inside.
 */
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/** 4, 6, or 0 when the text is not an IP address (the WHATWG URL parser judges IPv6; no node:net in the domain). */
export function isIP(text: string): 4 | 6 | 0 {
  if (IPV4.test(text)) return 4;
  if (!text.includes(':') || /[^0-9a-fA-F:.]/.test(text)) return 0;
  try {
    new URL(`http://[${text}]/`);
    return 6;
  } catch {
    return 0;
  }
}

export function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

/** True when a webhook must not connect there. Anything that is not an IP address is refused. */
export function isForbiddenAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) return isForbiddenIpv4(ipv4Number(address));
  if (kind === 6) return isForbiddenIpv6(address);
  return true;
}

const IPV4_REFUSED: readonly [string, number][] = [
  ['0.0.0.0', 8], // "this" network, unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, instance metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const IPV4_RANGES = IPV4_REFUSED.map(([base, bits]) => ({ base: ipv4Number(base), bits }));

function ipv4Number(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function isForbiddenIpv4(value: number): boolean {
  return IPV4_RANGES.some(({ base, bits }) => Math.floor(value / 2 ** (32 - bits)) === Math.floor(base / 2 ** (32 - bits)));
}

/** The eight 16-bit groups of an IPv6 address (an embedded dotted IPv4 tail expanded). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const zone = text.indexOf('%');
  if (zone !== -1) text = text.slice(0, zone);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Number(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${Math.floor(v4 / 65536).toString(16)}:${(v4 % 65536).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':').filter((g) => g !== '') : [];
  const tailGroups = tail ? tail.split(':').filter((g) => g !== '') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...(tail === undefined ? [] : Array<string>(missing).fill('0')), ...tailGroups];
  return groups.map((g) => Number.parseInt(g, 16));
}

/**
 * IPv6: global unicast (2000::/3) only, less its special ranges, plus the IPv4-mapped and well-known NAT64 forms of a
 * public IPv4 address. Everything else (IPv4-translated ::ffff:0:a.b.c.d, local-use NAT64 64:ff9b:1::/48, ::/96,
 * link-local, unique-local, multicast, reserved, …) is refused, so no other embedding of a refused IPv4 gets through.
 */
function isForbiddenIpv6(address: string): boolean {
  const g = ipv6Groups(address);
  if (g.length !== 8 || g.some((n) => Number.isNaN(n) || n < 0 || n > 0xffff)) return true;
  const first = g[0]!;
  const embeddedV4 = g[6]! * 65536 + g[7]!;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(5) && g[5] === 0xffff) return isForbiddenIpv4(embeddedV4); // ::ffff:a.b.c.d (IPv4-mapped)
  if (first === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return isForbiddenIpv4(embeddedV4); // NAT64
  if ((first & 0xe000) !== 0x2000) return true; // not global unicast 2000::/3
  if (first === 0x2002) return isForbiddenIpv4(g[1]! * 65536 + g[2]!); // 6to4
  if (first === 0x2001 && g[1]! < 0x0200) return true; // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID)
  if (first === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (first === 0x3fff && g[1]! < 0x1000) return true; // documentation (3fff::/20)
  return false;
}
