/**
 * User regexes run on V8's linear-time engine (the `l` flag, an automaton without backtracking), so no
 * pattern can stall the event loop: matching is O(pattern × input) for every input, `^(a+)+$` included.
 *
 * Accepted syntax: ECMAScript regex (no flags) without backreferences, lookahead or inline modifiers,
 * with counted repetitions (`{n}`, `{n,m}`, `{n,}`) whose bounds, multiplied when nested, stay at or below
 * 16 (the engine unrolls them). Lookbehind is accepted. Patterns are unanchored (they match anywhere)
 * unless they use `^`/`$`, as in Gefyra. `docs/routes.md` documents this; keep the two in step.
 */
import v8 from "node:v8";

let enabled = false;

function enableLinearEngine(): void {
  if (enabled) return;
  // Must be set before the first `l`-flag regex is created; safe to call more than once.
  v8.setFlagsFromString("--enable-experimental-regexp-engine");
  enabled = true;
}

export class RegexSyntaxError extends Error {
  override name = "RegexSyntaxError";
}

/** The largest product of counted-repetition bounds V8's linear engine accepts. */
export const MAX_COUNTED_REPETITION = 16;

/** Why V8's linear engine refused a pattern that is otherwise valid: the message users see. */
function whyNotLinear(source: string): string {
  const tail = "(Carrier2 runs regexes in linear time)";
  if (/\\[1-9]|\\k</.test(source)) {
    return `needs backtracking: backreferences (\\1, \\k<name>) are not supported ${tail}`;
  }
  if (/\(\?[=!]/.test(source)) {
    return `needs backtracking: lookahead ((?=...), (?!...)) is not supported ${tail}`;
  }
  if (/\(\?[-a-z]+:/.test(source)) return `uses inline modifiers ((?i:...)), which are not supported ${tail}`;
  if (/\{\d+(,\d*)?\}/.test(source)) {
    return `repeats too much: counted repetitions ({n}, {n,m}, {n,}) are unrolled and their bounds, multiplied when nested, must not exceed ${MAX_COUNTED_REPETITION}; use *, + or a smaller bound ${tail}`;
  }
  return `cannot run in linear time ${tail}`;
}

/**
 * Compile a user's pattern on the linear-time engine, or throw a RegexSyntaxError saying why.
 * Flag `i` is ASCII case-insensitivity (for header names); the engine itself refuses `i`, so the pattern
 * is rewritten instead (`x` → `[xX]`, classes get both cases).
 */
export function compileLinearRegex(source: string, flags = ""): RegExp {
  enableLinearEngine();
  const fold = flags.includes("i");
  try {
    return new RegExp(fold ? foldAsciiCase(source) : source, `${flags.replace("i", "")}l`);
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes("linear time")) {
      // Tell a syntax error from a refusal: the same pattern on the backtracking engine only parses it.
      let valid = true;
      try {
        new RegExp(source);
      } catch {
        valid = false;
      }
      if (valid) throw new RegexSyntaxError(`invalid regular expression: /${source}/ ${whyNotLinear(source)}`);
    }
    const detail = message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "");
    throw new RegexSyntaxError(`invalid regular expression: /${source}/: ${detail}`);
  }
}

// ── ASCII case folding (the `i` flag the linear engine lacks) ──────────────────────────────────────────

const CONTROL_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, b: 8, "0": 0 };
/** Escape letters with a meaning; any other escaped letter is that letter (Annex B identity escape). */
const SPECIAL_ESCAPE_LETTERS = "dDwWsSbBnrtfvcxuk";

function isHex(s: string): boolean {
  return /^[0-9a-fA-F]+$/.test(s);
}

/** Index just past the escape that starts at `i` (a backslash). */
export function escapeEnd(src: string, i: number): number {
  const c = src[i + 1];
  if (c === undefined) return i + 1;
  if (c === "u" && isHex(src.slice(i + 2, i + 6)) && i + 6 <= src.length) return i + 6;
  if (c === "x" && isHex(src.slice(i + 2, i + 4)) && i + 4 <= src.length) return i + 4;
  if (c === "c" && /^[A-Za-z]$/.test(src[i + 2] ?? "")) return i + 3;
  if (/[0-9]/.test(c)) {
    let j = i + 1;
    while (j < src.length && /[0-9]/.test(src[j]!)) j++;
    return j;
  }
  return i + 2;
}

/** The single character an escape stands for, or undefined for classes (`\d`) and assertions. */
export function escapeChar(esc: string): string | undefined {
  const c = esc[1];
  if (c === undefined) return undefined;
  if ((c === "u" || c === "x") && esc.length > 2) return String.fromCharCode(Number.parseInt(esc.slice(2), 16));
  if (c === "c" && esc.length === 3) return String.fromCharCode(esc.charCodeAt(2) % 32);
  if (c in CONTROL_ESCAPES) return esc.length === 2 ? String.fromCharCode(CONTROL_ESCAPES[c]!) : undefined;
  if (/[0-9]/.test(c)) return undefined;
  if (/[A-Za-z]/.test(c) && SPECIAL_ESCAPE_LETTERS.includes(c)) return undefined;
  return c;
}

function isAsciiLetter(ch: string): boolean {
  return /^[A-Za-z]$/.test(ch);
}

function swapCase(ch: string): string {
  return ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase();
}

/** Index just past the class that starts at `i` (a `[`). */
export function classEnd(src: string, i: number): number {
  let j = i + 1;
  if (src[j] === "^") j++;
  while (j < src.length && src[j] !== "]") j = src[j] === "\\" ? escapeEnd(src, j) : j + 1;
  return j + 1;
}

/** Letters to add to a class so it matches both cases: single letters and letter ranges. */
function foldClass(cls: string): string {
  const negated = cls[1] === "^";
  let j = negated ? 2 : 1;
  const end = cls.length - 1;
  const atoms: { text: string; ch: string | undefined }[] = [];
  while (j < end) {
    const next = cls[j] === "\\" ? escapeEnd(cls, j) : j + 1;
    const text = cls.slice(j, next);
    atoms.push({ text, ch: text.length === 1 ? text : escapeChar(text) });
    j = next;
  }
  let body = "";
  let extra = "";
  for (let k = 0; k < atoms.length; k++) {
    const a = atoms[k]!;
    const dash = atoms[k + 1];
    const hi = atoms[k + 2];
    if (dash?.text === "-" && hi && a.ch !== undefined && hi.ch !== undefined) {
      body += `${a.text}-${hi.text}`;
      const [lo, up] = [a.ch.charCodeAt(0), hi.ch.charCodeAt(0)];
      for (const [from, to, shift] of [[97, 122, -32], [65, 90, 32]] as const) {
        const l = Math.max(lo, from);
        const h = Math.min(up, to);
        if (l <= h) extra += `${String.fromCharCode(l + shift)}-${String.fromCharCode(h + shift)}`;
      }
      k += 2;
      continue;
    }
    body += a.text === "-" ? "\\-" : a.text;
    if (a.ch !== undefined && isAsciiLetter(a.ch)) extra += swapCase(a.ch);
  }
  return `[${negated ? "^" : ""}${body}${extra}]`;
}

/** Rewrite a pattern so it matches ASCII letters in either case. */
export function foldAsciiCase(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const ch = src[i]!;
    if (ch === "\\") {
      const end = escapeEnd(src, i);
      const esc = src.slice(i, end);
      const lit = escapeChar(esc);
      out += lit !== undefined && isAsciiLetter(lit) ? `[${lit.toLowerCase()}${lit.toUpperCase()}]` : esc;
      i = end;
    } else if (ch === "[") {
      const end = classEnd(src, i);
      out += foldClass(src.slice(i, end));
      i = end;
    } else if (src.startsWith("(?<", i) && src[i + 3] !== "=" && src[i + 3] !== "!") {
      const close = src.indexOf(">", i);
      const end = close < 0 ? src.length : close + 1;
      out += src.slice(i, end); // a group name, not text to match
      i = end;
    } else {
      out += isAsciiLetter(ch) ? `[${ch.toLowerCase()}${ch.toUpperCase()}]` : ch;
      i++;
    }
  }
  return out;
}
