import { BlockList, isIP } from 'node:net';

/**
 * Which peers may tell us the client's address (X-Forwarded-For): loopback
 * always (a TLS proxy on the same host), plus the addresses and subnets named
 * in TRUSTED_PROXIES (a load balancer or ingress on the private network). Any
 * other peer is the client: a forwarded header from it is not believed, so
 * nobody outside can pick the address their rate limits are counted under.
 */
export type TrustedProxies = (address: string) => boolean;

/** "10.0.0.7", "10.0.0.0/8", "fd00::/8": null when the entry is neither an address nor a subnet. */
export function parseProxyEntry(entry: string): { address: string; prefix: number | null; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, prefix: null, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix >= 0 && prefix <= (version === 4 ? 32 : 128) ? { address, prefix, family } : null;
}

export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const entry of entries) {
    const e = parseProxyEntry(entry);
    if (!e) throw new Error(`not an address or subnet: ${entry}`);
    if (e.prefix === null) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  return (address) => {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    const a = v4 ?? address;
    const version = isIP(a);
    return version !== 0 && list.check(a, version === 4 ? 'ipv4' : 'ipv6');
  };
}
