/**
 * What route analysis can know about a user's regex without running it on every string:
 * - `regexShape`: a pattern that is only literal text (with `^`/`$`) is an exact, prefix or substring
 *   test in disguise (`^/api`, `x-gefyra=michael`), which analysis then reasons about exactly; other
 *   patterns stay opaque, with the literal prefix every match must start with and whether they match
 *   every string (`.*`, `^`).
 * - `sampleRegex`: one string the pattern matches, for example requests. Best effort: undefined when
 *   the pattern uses something it does not model; callers verify samples anyway.
 */
import { classEnd, escapeChar, escapeEnd } from "./regex.ts";

export type RegexShape =
  | { form: "exact" | "prefix" | "contains"; literal: string }
  | { form: "opaque"; prefix: string; matchesAll: boolean };

const META = "\\^$.|?*+()[]{}";
const QUANTIFIER_START = "?*+{";

/** The literal character of the token at `i`, or undefined when it is not plain text. */
function literalAt(src: string, i: number): { ch: string; end: number } | undefined {
  const c = src[i]!;
  if (c === "\\") {
    const end = escapeEnd(src, i);
    const esc = src.slice(i, end);
    // `\b` is a word boundary outside classes, not a backspace.
    if (esc === "\\b") return undefined;
    const ch = escapeChar(esc);
    return ch === undefined ? undefined : { ch, end };
  }
  return META.includes(c) ? undefined : { ch: c, end: i + 1 };
}

/** Does the pattern have an alternation `|` outside groups and classes? */
function hasTopLevelAlternation(src: string): boolean {
  let depth = 0;
  for (let i = 0; i < src.length; ) {
    const c = src[i]!;
    if (c === "\\") i = escapeEnd(src, i);
    else if (c === "[") i = classEnd(src, i);
    else {
      if (c === "(") depth++;
      else if (c === ")") depth--;
      else if (c === "|" && depth === 0) return true;
      i++;
    }
  }
  return false;
}

export function regexShape(source: string, compiled: RegExp): RegexShape {
  const anchoredStart = source.startsWith("^");
  let i = anchoredStart ? 1 : 0;
  let literal = "";
  let lastLen = 0;
  while (i < source.length) {
    const lit = literalAt(source, i);
    if (!lit) break;
    literal += lit.ch;
    lastLen = lit.ch.length;
    i = lit.end;
  }
  if (i === source.length) return { form: anchoredStart ? "prefix" : "contains", literal };
  if (i === source.length - 1 && source[i] === "$") {
    if (anchoredStart) return { form: "exact", literal };
    if (literal === "") return { form: "contains", literal };
  }
  // Opaque. The literal run after `^` is a prefix of every match, unless a quantifier applies to its
  // last character or an alternation offers another way to match.
  let prefix = "";
  if (anchoredStart && !hasTopLevelAlternation(source)) {
    prefix = QUANTIFIER_START.includes(source[i]!) ? literal.slice(0, literal.length - lastLen) : literal;
  }
  // Matching "" without `$`/`\b`/`\B` means matching at position 0 of every string.
  const matchesAll = compiled.test("") && !/\$|\\[bB]/.test(source);
  return { form: "opaque", prefix, matchesAll };
}

// ── sampling ─────────────────────────────────────────────────────────────────────────────────────────

const CLASS_SAMPLES: Record<string, string> = { d: "0", D: "a", w: "a", W: "-", s: " ", S: "a" };
const CHAR_POOL = "a0-_./~xzAZ9 !:=";

class Sampler {
  #src: string;
  #i = 0;
  constructor(src: string) {
    this.#src = src;
  }

  run(): string | undefined {
    const s = this.#alternatives();
    return this.#i === this.#src.length ? s : undefined;
  }

  /** alternatives := sequence ('|' sequence)*; the first alternative that can be sampled. */
  #alternatives(): string | undefined {
    let chosen = this.#sequence();
    while (this.#src[this.#i] === "|") {
      this.#i++;
      const next = this.#sequence();
      chosen ??= next;
    }
    return chosen;
  }

  #sequence(): string | undefined {
    let out: string | undefined = "";
    while (this.#i < this.#src.length && this.#src[this.#i] !== "|" && this.#src[this.#i] !== ")") {
      const atom = this.#atom();
      const count = this.#quantifier();
      if (count === undefined) return this.#fail();
      if (count === 0) continue;
      out = out === undefined || atom === undefined ? undefined : out + atom.repeat(count);
    }
    return out;
  }

  #fail(): undefined {
    this.#i = this.#src.length + 1; // makes run() fail
    return undefined;
  }

  /** The minimal repetition count of the quantifier at the cursor (1 without one). */
  #quantifier(): number | undefined {
    const src = this.#src;
    const c = src[this.#i];
    let count = 1;
    if (c === "*" || c === "?") {
      count = 0;
      this.#i++;
    } else if (c === "+") this.#i++;
    else if (c === "{") {
      const m = /^\{(\d+)(,\d*)?\}/.exec(src.slice(this.#i));
      if (!m) return undefined;
      count = Number(m[1]);
      this.#i += m[0].length;
    } else return 1;
    if (src[this.#i] === "?") this.#i++; // lazy
    return count;
  }

  #atom(): string | undefined {
    const src = this.#src;
    const c = src[this.#i]!;
    if (c === "(") return this.#group();
    if (c === "[") {
      const end = classEnd(src, this.#i);
      const cls = src.slice(this.#i, end);
      this.#i = end;
      return sampleClass(cls);
    }
    this.#i++;
    if (c === "^" || c === "$") return "";
    if (c === ".") return "a";
    if (c === "\\") {
      const end = escapeEnd(src, this.#i - 1);
      const esc = src.slice(this.#i - 1, end);
      this.#i = end;
      if (esc === "\\b" || esc === "\\B") return "";
      const k = esc[1] ?? "";
      if (k in CLASS_SAMPLES) return CLASS_SAMPLES[k];
      return escapeChar(esc) ?? this.#fail();
    }
    if (QUANTIFIER_START.includes(c)) return this.#fail();
    return c;
  }

  #group(): string | undefined {
    const src = this.#src;
    let assertion = false;
    if (src.startsWith("(?:", this.#i)) this.#i += 3;
    else if (src.startsWith("(?<=", this.#i) || src.startsWith("(?<!", this.#i)) {
      assertion = true;
      this.#i += 4;
    } else if (src.startsWith("(?<", this.#i)) {
      const close = src.indexOf(">", this.#i);
      if (close < 0) return this.#fail();
      this.#i = close + 1;
    } else if (src.startsWith("(?", this.#i)) return this.#fail();
    else this.#i += 1;
    const inner = this.#alternatives();
    if (src[this.#i] !== ")") return this.#fail();
    this.#i++;
    return assertion ? "" : inner;
  }
}

/** One character the class matches. */
function sampleClass(cls: string): string | undefined {
  let re: RegExp;
  try {
    re = new RegExp(`^${cls}$`); // a lone class: no backtracking to fear
  } catch {
    return undefined;
  }
  for (const ch of cls.slice(1) + CHAR_POOL) if (re.test(ch)) return ch;
  return undefined;
}

/** A string `compiled` matches, built from `source`; undefined when none was found. */
export function sampleRegex(source: string, compiled: RegExp): string | undefined {
  const s = new Sampler(source).run();
  return s !== undefined && compiled.test(s) ? s : undefined;
}
