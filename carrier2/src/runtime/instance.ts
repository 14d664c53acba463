/** This Carrier2 instance's identity (shared by its workers): names it in the loop-guard header. */
import { randomBytes } from "node:crypto";

export const INSTANCE_ENV = "CARRIER2_INSTANCE_ID";

/** Set by the primary before forking workers, so all workers of one instance share the id. */
if (!process.env[INSTANCE_ENV]) process.env[INSTANCE_ENV] = `c2-${randomBytes(6).toString("hex")}`;
export const instanceId: string = process.env[INSTANCE_ENV];
