/**
 * Node's llhttp binding (module `_http_common`): the strict HTTP/1.1 parser node:http itself parses
 * with. Carrier2's HTTP/1.1 client (`upstream/h1.ts`) and server (`listeners/http1.ts`) both use it, so
 * framing (Content-Length vs Transfer-Encoding, chunk sizes, 1xx, HEAD, 204/304, upgrades, smuggling
 * attempts) is decided by the same code as Node's, not by hand.
 */
import { createRequire } from "node:module";

export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes parsed, or the parse error (`code` HPE_*, `bytesParsed`). */
  execute(data: Buffer): number | (Error & { code?: string; bytesParsed?: number });
  finish(): undefined | (Error & { code?: string });
  close(): void;
  [key: number]: unknown;
}

interface LlhttpModule {
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number;
    RESPONSE: number;
    kOnMessageBegin: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kOnExecute: number;
    kLenientNone: number;
  };
  /** llhttp's method names, by the number it reports. */
  methods: readonly string[];
  _checkInvalidHeaderChar(value: string): boolean;
  _checkIsHttpToken(value: string): boolean;
}

const llhttp = createRequire(import.meta.url)("_http_common") as LlhttpModule;

export const HTTPParser = llhttp.HTTPParser;
export const METHODS = llhttp.methods;
/** A field value Node would refuse to write (CR, LF, NUL and other controls except HTAB). */
export const invalidHeaderChar: (value: string) => boolean = llhttp._checkInvalidHeaderChar;
/** A valid field name (RFC 9110 token). */
export const isHttpToken: (value: string) => boolean = llhttp._checkIsHttpToken;

/**
 * `kOnHeadersComplete` return value: no body follows, stop after this message (an upgrade request or a
 * CONNECT). `execute` then returns the bytes up to the end of the head; the rest belongs to the new
 * protocol.
 */
export const HEADERS_UPGRADE = 2;
