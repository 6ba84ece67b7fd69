import { isIP } from 'node:net';
import type { BrokerConfig } from '../common/broker-config.js';

/**
 * Which web pages and which host names the HTTP and WebSocket door answers.
 *
 * Host (DNS rebinding): a page on attacker.example can have its name
 * re-resolve to 127.0.0.1 and then talk to the broker as a same-origin page,
 * reading every answer. The browser still sends `Host: attacker.example`, so
 * a request is served only when its Host names the broker: an IP literal
 * (a rebinding needs a DNS name), `localhost`, the bind and advertised hosts,
 * or a name in `allowed-hosts`. A request without Host (HTTP/1.0 tools) is
 * served.
 *
 * Origin: browsers send it with every WebSocket handshake and every
 * cross-origin POST or DELETE. A WebSocket upgrade, or a request that changes
 * state, from a page whose origin is neither this host nor in
 * `allowed-origins` (`*` allows any) is refused. curl and scripts send no
 * Origin and are served.
 */
export interface WebOriginPolicy {
  /** True when the Host header names this broker. */
  hostServed(hostHeader: string): boolean;
  /** True when a page with this Origin may open a WebSocket or change state. */
  originAllowed(originHeader: string, hostHeader: string): boolean;
}

/** The host name of a Host header value, without the port, lower-cased; brackets kept off IPv6. */
function hostNameOf(hostHeader: string): string {
  const value = hostHeader.trim().toLowerCase();
  if (value.startsWith('['))
    return value.slice(1, value.indexOf(']') === -1 ? undefined : value.indexOf(']'));
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

export function webOriginPolicy(config: BrokerConfig): WebOriginPolicy {
  const hostNames = new Set<string>(['localhost']);
  for (const name of [config.host, config.advertisedHost, ...config.allowedHosts]) {
    // IP literals are served whatever they are; names are kept without port or trailing dot.
    if (isIP(name) === 0) hostNames.add(hostNameOf(name).replace(/\.$/, ''));
  }
  const anyOrigin = config.allowedOrigins.includes('*');
  const origins = new Set(config.allowedOrigins.map((origin) => origin.toLowerCase().replace(/\/+$/, '')));
  return {
    hostServed(hostHeader) {
      if (hostHeader === '') return true;
      const name = hostNameOf(hostHeader);
      return isIP(name) !== 0 || hostNames.has(name) || hostNames.has(name.replace(/\.$/, ''));
    },
    originAllowed(originHeader, hostHeader) {
      if (originHeader === '' || anyOrigin) return true;
      if (origins.has(originHeader.toLowerCase())) return true;
      try {
        // Same origin: the page was served by this broker under the same host and port.
        return new URL(originHeader).host === hostHeader.trim().toLowerCase();
      } catch {
        // "null" (sandboxed frames, file://) and anything unparsable.
        return false;
      }
    },
  };
}
