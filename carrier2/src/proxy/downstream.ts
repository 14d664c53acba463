/**
 * The client side of an exchange. Normal requests answer through a response object (Carrier2's own for
 * HTTP/1.1, node:http2's for HTTP/2); upgrade requests (WebSocket) arrive as a bare socket, which
 * `SocketDownstream` gives the same face, so the driver's phases do not care which they have. It writes
 * HTTP/1.1 responses itself (always `connection: close`: after a refused upgrade the connection is not
 * reused) and, on `101`, joins the client and upstream sockets into a tunnel.
 */
import { type IncomingHttpHeaders, STATUS_CODES } from "node:http";
import type { Duplex, Readable } from "node:stream";

/**
 * The client's request as the driver reads it: fields that node:http's and node:http2's requests and
 * Carrier2's own HTTP/1.1 request (`listeners/http1.ts`) share; the body is the stream itself.
 */
export interface ProxyRequest extends Readable {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly httpVersionMajor: number;
  /** Lower-case names, repeated fields joined as node:http does. */
  readonly headers: IncomingHttpHeaders;
  /** `[name, value, ...]`, names in their original case, repeated fields separate. */
  readonly rawHeaders: string[];
  readonly socket: { readonly remoteAddress?: string | undefined };
}

export interface Downstream {
  readonly headersSent: boolean;
  readonly statusCode: number;
  readonly writableFinished: boolean;
  writeHead(status: number, message: string | undefined, headers: string[] | Record<string, string | number>): unknown;
  writeContinue(): void;
  write(chunk: Buffer): boolean;
  /** HTTP/1.1 chunked and HTTP/2 responses carry trailers. */
  addTrailers?(trailers: Record<string, string>): void;
  /** 103 Early Hints; throws on a Link it cannot carry. */
  writeEarlyHints?(hints: { link: string | string[] }): void;
  /** HTTP/1.1: keep the connection for the next request (a draining port clears it). */
  shouldKeepAlive?: boolean;
  end(body?: string): unknown;
  destroy(err?: Error): unknown;
  on(event: "close", listener: () => void): unknown;
  once(event: "drain", listener: () => void): unknown;
}

function headBlock(status: number, message: string | undefined, headers: string[] | Record<string, string | number>): string {
  let out = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ""}\r\n`;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) out += `${headers[i]}: ${headers[i + 1]}\r\n`;
  } else {
    for (const [k, v] of Object.entries(headers)) if (k !== "connection") out += `${k}: ${v}\r\n`;
  }
  return out;
}

/**
 * A whole HTTP/1.1 response as text, ending the connection (`connection: close`): for answering on a
 * bare socket (malformed requests, refused upgrades) where no `ServerResponse` exists.
 */
export function closingResponse(status: number, headers: Record<string, string | number>, body: string): string {
  return `${headBlock(status, undefined, { ...headers, "content-length": Buffer.byteLength(body) })}connection: close\r\n\r\n${body}`;
}

export class SocketDownstream implements Downstream {
  readonly #socket: Duplex;
  #headersSent = false;
  #statusCode = 0;
  #finished = false;

  constructor(socket: Duplex) {
    this.#socket = socket;
  }

  get headersSent(): boolean {
    return this.#headersSent;
  }

  get statusCode(): number {
    return this.#statusCode;
  }

  get writableFinished(): boolean {
    return this.#finished;
  }

  writeHead(status: number, message: string | undefined, headers: string[] | Record<string, string | number>): void {
    if (this.#headersSent) throw new Error("headers already sent");
    this.#headersSent = true;
    this.#statusCode = status;
    this.#socket.write(`${headBlock(status, message, headers)}connection: close\r\n\r\n`);
  }

  writeContinue(): void {
    // Upgrade requests carry no body to wait for.
  }

  write(chunk: Buffer): boolean {
    return this.#socket.write(chunk);
  }

  end(body?: string): void {
    this.#socket.end(body, () => {
      this.#finished = true;
    });
  }

  destroy(err?: Error): void {
    this.#socket.destroy(err);
  }

  on(event: "close", listener: () => void): this {
    this.#socket.on(event, listener);
    return this;
  }

  once(event: "drain", listener: () => void): this {
    this.#socket.once(event, listener);
    return this;
  }

  /**
   * The upstream switched protocols: send its 101 (with its Upgrade/Connection fields, which a 101
   * needs), replay bytes the client sent early, then copy both ways until either side closes.
   */
  tunnel(status: number, headers: string[], upstream: Duplex, head: Buffer): void {
    this.#headersSent = true;
    this.#statusCode = status;
    // A tunnel ends when either side closes; that is its normal completion, not an abort.
    this.#finished = true;
    const client = this.#socket;
    client.write(`${headBlock(status, undefined, headers)}\r\n`);
    if (head.length > 0) upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    const finish = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on("close", finish);
    upstream.on("error", finish);
    client.on("error", finish);
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
  }
}
