/** Self-signed certificates generated at run time (probe TLS, tests). No private key is ever committed. */
import { generate } from "selfsigned";

export interface Pem {
  cert: string;
  key: string;
}

export async function selfSignedCertificate(commonName = "carrier2", altNames: string[] = ["localhost", "127.0.0.1"]): Promise<Pem> {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    keyType: "ec",
    curve: "P-256",
    notAfterDate: new Date(Date.now() + 825 * 86_400_000),
    algorithm: "sha256",
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: altNames.map((n) => (/^[0-9.]+$|:/.test(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n })),
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
