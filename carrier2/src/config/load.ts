/** Reading a configuration file or text (YAML 1.2; JSON is YAML) and validating it. */
import { readFile } from "node:fs/promises";
import { parse, YAMLParseError } from "yaml";
import { type ValidateOptions, type ValidationResult, validateConfig } from "./validate.ts";

/** Parse YAML/JSON text. Duplicate keys are errors (an ambiguous bridge table must not load). */
export function parseConfigText(text: string, options: ValidateOptions = {}): ValidationResult {
  let data: unknown;
  try {
    data = parse(text, { uniqueKeys: true, maxAliasCount: 100, prettyErrors: true });
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message.split("\n")[0]! : (err as Error).message;
    return { ok: false, issues: [{ path: "", message: `not valid YAML/JSON: ${message}` }] };
  }
  if (data === null || data === undefined) {
    return { ok: false, issues: [{ path: "", message: "the configuration is empty" }] };
  }
  return validateConfig(data, options);
}

export async function loadConfigFile(file: string, options: ValidateOptions = {}): Promise<ValidationResult> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return { ok: false, issues: [{ path: "", message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  return parseConfigText(text, options);
}
