import ipaddr from 'ipaddr.js';

/**
 * The key a client address is limited under: an IPv4 address as it is, an IPv6 address by its
 * /64 (one subscriber's usual allocation, so rotating through it gains nothing). IPv4-mapped
 * IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) counts as the IPv4 address.
 */
export function clientKey(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
