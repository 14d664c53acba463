/**
 * Throwaway certificates made with openssl (EC P-256, valid two days): a CA, and certificates it
 * signs. The envtest control plane uses them (envtest.ts), and so do tests that serve TLS to it, such
 * as the admission webhook's (the API server verifies the webhook with the CA in the caBundle).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyPair {
  /** PEM file paths. */
  cert: string;
  key: string;
}

export interface CertificateAuthority extends KeyPair {
  /**
   * Sign a new key for `subject` (`/CN=...`, `/O=group/CN=user`); `extensions` as in an openssl
   * extfile, e.g. `subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`.
   */
  sign(name: string, subject: string, extensions: string): KeyPair;
}

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A new EC P-256 private key in `file`. */
export function generateKey(file: string): void {
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file);
}

/** The public key of `keyFile`, as PEM in `outFile`. */
export function writePublicKey(keyFile: string, outFile: string): void {
  openssl("pkey", "-in", keyFile, "-pubout", "-out", outFile);
}

/** A new CA in `dir` (created if missing); what it signs is written there too. */
export function createCa(dir: string, commonName: string): CertificateAuthority {
  mkdirSync(dir, { recursive: true });
  const p = (file: string) => join(dir, file);
  generateKey(p("ca.key"));
  openssl(
    "req", "-x509", "-new", "-key", p("ca.key"), "-subj", `/CN=${commonName}`, "-days", "2",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", p("ca.crt"),
  );
  return {
    cert: p("ca.crt"),
    key: p("ca.key"),
    sign(name, subject, extensions) {
      generateKey(p(`${name}.key`));
      openssl("req", "-new", "-key", p(`${name}.key`), "-subj", subject, "-out", p(`${name}.csr`));
      writeFileSync(p(`${name}.ext`), extensions);
      openssl(
        "x509", "-req", "-in", p(`${name}.csr`), "-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
        "-days", "2", "-extfile", p(`${name}.ext`), "-out", p(`${name}.crt`),
      );
      return { cert: p(`${name}.crt`), key: p(`${name}.key`) };
    },
  };
}

/** A serving certificate for 127.0.0.1 and localhost. */
export const LOOPBACK_SERVER = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
