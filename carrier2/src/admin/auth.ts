/**
 * Admin API authentication: `Authorization: Bearer <token>`, compared in constant time (SHA-256 digests
 * of equal length through `timingSafeEqual`, so neither the content nor the length of the token leaks).
 *
 * The token comes from `CARRIER2_ADMIN_TOKEN` or `--admin-token-file PATH`. The file is re-read when it
 * changes (polled, and checked again before refusing a request), so rotating a Kubernetes Secret mounted
 * as a volume takes effect without a restart. Without a token, every request is accepted — the admin
 * API then binds only loopback (enforced by the command line).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, type Stats, statSync, unwatchFile, watchFile } from "node:fs";
import { log } from "../observability/log.ts";

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** The token in an `Authorization` header value, or undefined. */
function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m?.[1];
}

function readToken(file: string): string {
  const token = readFileSync(file, "utf8").trim();
  if (token === "") throw new Error(`token file ${file} is empty`);
  if (/\s/.test(token)) throw new Error(`token file ${file} holds more than one word`);
  return token;
}

const POLL_MS = 1_000;

export class AdminAuth {
  #expected: Buffer | undefined;
  readonly #file: string | undefined;
  #fileStamp = "";

  private constructor(token: string | undefined, file: string | undefined) {
    this.#expected = token === undefined ? undefined : digest(token);
    this.#file = file;
  }

  /** No token: every request is accepted (loopback only). */
  static none(): AdminAuth {
    return new AdminAuth(undefined, undefined);
  }

  static fromToken(token: string): AdminAuth {
    if (token.trim() === "") throw new Error("CARRIER2_ADMIN_TOKEN is empty");
    return new AdminAuth(token.trim(), undefined);
  }

  /** Read the token now (throws when unreadable or empty) and follow the file's changes. */
  static fromFile(file: string): AdminAuth {
    const auth = new AdminAuth(readToken(file), file);
    auth.#fileStamp = stampOf(statSync(file));
    watchFile(file, { interval: POLL_MS, persistent: false }, (cur) => {
      if (cur.nlink === 0 && cur.mtimeMs === 0) return; // gone for a moment (Secret update): keep the last token
      auth.#reload();
    });
    return auth;
  }

  /** A token is configured (requests must present it). */
  get required(): boolean {
    return this.#expected !== undefined;
  }

  /** Does this `Authorization` header value carry the token? */
  check(authorization: string | undefined): boolean {
    const expected = this.#expected;
    if (!expected) return true;
    const given = bearer(authorization);
    if (given === undefined) return false;
    if (timingSafeEqual(digest(given), expected)) return true;
    // The file may have changed since the last poll: look again before refusing.
    if (this.#file && this.#changed()) {
      this.#reload();
      return timingSafeEqual(digest(given), this.#expected!);
    }
    return false;
  }

  close(): void {
    if (this.#file) unwatchFile(this.#file);
  }

  #changed(): boolean {
    try {
      return stampOf(statSync(this.#file!)) !== this.#fileStamp;
    } catch {
      return false;
    }
  }

  #reload(): void {
    const file = this.#file!;
    try {
      const stamp = stampOf(statSync(file));
      const token = readToken(file);
      const next = digest(token);
      this.#fileStamp = stamp;
      if (!timingSafeEqual(next, this.#expected!)) {
        this.#expected = next;
        log.info({ file }, "admin token rotated");
      }
    } catch (err) {
      log.warn({ file, err: (err as Error).message }, "admin token file unreadable; keeping the previous token");
    }
  }
}

function stampOf(s: Stats): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}
