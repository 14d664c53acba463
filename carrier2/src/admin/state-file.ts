/**
 * `--state-file PATH`: the last applied configuration and its generation, so a restarted container
 * comes back with the routes it had. Written atomically (temp file, fsync, rename, fsync the folder): a
 * crash leaves either the previous file or the new one, never a torn one.
 *
 * Format (JSON): `{"version": 1, "generation": 7, "savedAt": "<ISO time>", "config": {...}}`.
 */
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Carrier2Config } from "../config/index.ts";

export interface SavedState {
  generation: number;
  /** Validated again when restored: the files it names may have changed. */
  config: unknown;
  savedAt: string;
}

/** The saved state, or undefined when there is no file. Throws when the file is unreadable or damaged. */
export async function readStateFile(path: string): Promise<SavedState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read state file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: Partial<SavedState> & { version?: unknown };
  try {
    data = JSON.parse(text) as typeof data;
  } catch {
    throw new Error(`state file ${path} is not valid JSON`);
  }
  if (data?.version !== 1 || !Number.isSafeInteger(data.generation) || (data.generation as number) < 1 || typeof data.config !== "object") {
    throw new Error(`state file ${path} is not a Carrier2 state file (version 1)`);
  }
  return { generation: data.generation as number, config: data.config, savedAt: String(data.savedAt ?? "") };
}

export async function writeStateFile(path: string, generation: number, config: Carrier2Config): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const text = `${JSON.stringify({ version: 1, generation, savedAt: new Date().toISOString(), config }, null, 2)}\n`;
  const file = await open(tmp, "w", 0o600);
  try {
    await file.writeFile(text, "utf8");
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  await rename(tmp, path);
  const folder = await open(dir, "r");
  try {
    await folder.sync();
  } catch {
    // Some filesystems cannot fsync a directory; the rename is still atomic.
  } finally {
    await folder.close();
  }
}
