/**
 * Log lines are batched before they are written: every line must still come out, in order, however
 * the process ends (a quiet end of the event loop, `process.exit`, an uncaught exception), and a quiet
 * process's lines must appear without waiting for more.
 */
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const logModule = pathToFileURL(new URL("../src/observability/log.ts", import.meta.url).pathname).href;

/** Line i's text: mostly short, some multi-byte characters, now and then one far longer than a batch. */
const TEXT = `(i) => (i % 1000 === 777 ? "\\u20ac".repeat(20_000) + "\\ud83d\\ude00" : "x\\u00e9".repeat(i % 40))`;
/** The same, for checking. */
function text(i: number): string {
  return i % 1000 === 777 ? `${"\u20ac".repeat(20_000)}\ud83d\ude00` : "x\u00e9".repeat(i % 40);
}

/** Runs a script that logs `count` access-style lines between two logger lines, then ends by `end`. */
/** `linger`: the process never ends by itself; it is killed once every line has arrived. */
function run(end: "return" | "exit" | "throw" | "linger", count: number): Promise<{ lines: string[]; aliveWhenAllArrived: boolean }> {
  const script = `
    const { log, writeLine } = await import(${JSON.stringify(logModule)});
    log.info("first");
    const text = ${TEXT};
    for (let i = 0; i < ${count}; i++) writeLine(\`{"i":\${i},"text":"\${text(i)}"}\\n\`);
    log.warn({ n: ${count} }, "last");
    const end = ${JSON.stringify(end)};
    if (end === "exit") process.exit(3);
    if (end === "throw") throw new Error("boom");
    if (end === "linger") setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  let aliveWhenAllArrived = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    if (end === "linger" && out.split("\n").length > count + 2) {
      aliveWhenAllArrived = child.exitCode === null;
      child.kill();
    }
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", () => resolve({ lines: out.split("\n").filter((l) => l !== ""), aliveWhenAllArrived }));
  });
}

function expectAllInOrder(lines: string[], count: number): void {
  const parsed = lines.map((l) => JSON.parse(l) as { msg?: string; i?: number; text?: string });
  expect(parsed.length).toBe(count + 2);
  expect(parsed[0]!.msg).toBe("first");
  expect(parsed.at(-1)!.msg).toBe("last");
  for (let i = 0; i < count; i++) {
    expect(parsed[i + 1]!.i).toBe(i);
    expect(parsed[i + 1]!.text).toBe(text(i));
  }
}

describe("log lines", () => {
  it.each(["return", "exit", "throw"] as const)("all come out, in order, when the process ends by %s", async (end) => {
    const { lines } = await run(end, 20_000);
    expectAllInOrder(lines, 20_000);
  });

  it("a few lines of a process that keeps running appear within the flush interval", async () => {
    // The process never ends by itself: its lines can only come from the periodic hand-over.
    const { lines, aliveWhenAllArrived } = await run("linger", 3);
    expectAllInOrder(lines, 3);
    expect(aliveWhenAllArrived).toBe(true);
  });
});
