export type * from "./types.ts";
export { configSchema } from "./schema.ts";
export { DEFAULTS, formatIssues, type ValidateOptions, type ValidationResult, validateConfig } from "./validate.ts";
export { loadConfigFile, parseConfigText } from "./load.ts";
