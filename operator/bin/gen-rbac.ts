// Writes deploy/operator/rbac.yaml from operator/src/rbac.ts (the source of truth).
import { mkdirSync, writeFileSync } from "node:fs";
import { rbacYaml } from "../src/rbac.ts";

const dir = new URL("../../deploy/operator/", import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL("rbac.yaml", dir), rbacYaml());
console.log("wrote deploy/operator/rbac.yaml");
