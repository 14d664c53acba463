// Writes deploy/operator/webhook.yaml from operator/src/webhook/manifest.ts (the source of truth).
import { mkdirSync, writeFileSync } from "node:fs";
import { webhookYaml } from "../src/webhook/manifest.ts";

const dir = new URL("../../deploy/operator/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL("webhook.yaml", dir), webhookYaml());
console.log("wrote deploy/operator/webhook.yaml");
