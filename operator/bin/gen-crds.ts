// Writes deploy/crds/*.yaml from operator/src/crds.ts (the source of truth).
import { mkdirSync, writeFileSync } from "node:fs";
import { crdFiles } from "../src/crds.ts";

const dir = new URL("../../deploy/crds/", import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [file, text] of crdFiles()) {
  writeFileSync(new URL(file, dir), text);
  console.log(`wrote deploy/crds/${file}`);
}
