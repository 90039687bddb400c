// Plain http that leaves this machine. Anyone on the network path of an http connection can read
// and change what passes: a downloaded model file (which native code, llama.cpp, parses) or the
// code sent to a model server. So a download or a server over http off this machine needs the
// user's word first. Loopback (a local hub, a test server, a local model server) never leaves it.
import { BlockList, isIP } from 'node:net';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
// Also matches IPv4-mapped forms such as [::ffff:127.0.0.1].
loopback.addAddress('::1', 'ipv6');

/** True when `host` (a URL's hostname, IPv6 in brackets or not) is this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && loopback.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * True for an `http:` URL whose host is not loopback (127.0.0.0/8, ::1, localhost): its download
 * must be confirmed with the risk named. https, loopback http and anything unparsable: false.
 */
export function needsInsecureConfirmation(url: string | URL): boolean {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url.trim()) : url;
  } catch {
    return false;
  }
  return parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname);
}
