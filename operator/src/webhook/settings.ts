/**
 * Whether and where the operator process serves the admission webhook: flags, else environment.
 *
 *   --webhook-cert FILE     WEBHOOK_CERT_FILE   serving certificate (PEM)
 *   --webhook-key FILE      WEBHOOK_KEY_FILE    its private key (PEM)
 *   --webhook-listen H:P    WEBHOOK_LISTEN      default 0.0.0.0:9443 ([::]:9443 for IPv6)
 *
 * Without a certificate and key the webhook is off and the operator runs as before.
 */
import { parseArgs } from "node:util";

export interface WebhookSettings {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
}

export const DEFAULT_WEBHOOK_LISTEN = "0.0.0.0:9443";

/** The settings, or undefined when the webhook is off; throws on an incomplete or invalid setting. */
export function webhookSettings(args: string[], env: Readonly<Record<string, string | undefined>>): WebhookSettings | undefined {
  const { values } = parseArgs({
    args,
    options: {
      "webhook-cert": { type: "string" },
      "webhook-key": { type: "string" },
      "webhook-listen": { type: "string" },
    },
    strict: true,
  });
  const certFile = values["webhook-cert"] ?? env["WEBHOOK_CERT_FILE"];
  const keyFile = values["webhook-key"] ?? env["WEBHOOK_KEY_FILE"];
  const listen = values["webhook-listen"] ?? env["WEBHOOK_LISTEN"];
  if (!certFile && !keyFile) {
    if (listen) throw new Error("--webhook-listen needs --webhook-cert and --webhook-key");
    return undefined;
  }
  if (!certFile || !keyFile) throw new Error("the webhook needs both --webhook-cert and --webhook-key");
  return { ...parseListen(listen ?? DEFAULT_WEBHOOK_LISTEN), certFile, keyFile };
}

/** `HOST:PORT` or `[V6]:PORT`. */
function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`--webhook-listen: ${JSON.stringify(listen)} is not HOST:PORT`);
  return { host: match[1] ?? match[2]!, port };
}
