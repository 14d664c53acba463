/** Upstream endpoints: parsed once per configuration, keyed for pooling. */

export interface Endpoint {
  /** As written: `host:port`. */
  address: string;
  /** `address` as a JSON string, for the access log (escaped once, not per request). */
  addressJson: string;
  host: string;
  port: number;
  tls: boolean;
  /** SNI toward this endpoint (TLS only); undefined = none/host. */
  servername: string | undefined;
  /** undici origin, e.g. `https://10.0.0.7:8443`. */
  origin: string;
  /** Identity for connection pooling. */
  key: string;
}

export function parseEndpoint(address: string, tls: boolean, sni: string | undefined): Endpoint {
  const colon = address.lastIndexOf(":");
  let host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  const bracketed = host.startsWith("[") && host.endsWith("]");
  if (bracketed) host = host.slice(1, -1);
  const servername = tls && sni ? sni : undefined;
  const origin = `${tls ? "https" : "http"}://${bracketed ? `[${host}]` : host}:${port}`;
  return { address, addressJson: JSON.stringify(address), host, port, tls, servername, origin, key: `${origin}|${servername ?? ""}` };
}
