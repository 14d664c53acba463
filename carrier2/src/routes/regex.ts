/**
 * User regexes run on V8's linear-time engine (the `l` flag, an automaton without backtracking), so no
 * pattern can stall the event loop: matching is O(pattern × input) for every input.
 *
 * Accepted syntax: ECMAScript regex without backreferences, lookahead/lookbehind, or quantified
 * groups that need backtracking — the subset V8 can run in linear time (close to RE2's syntax).
 * Patterns are unanchored (they match anywhere) unless they use `^`/`$`, as in Gefyra.
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

/** Compile a user's pattern on the linear-time engine, or throw a RegexSyntaxError saying why. */
export function compileLinearRegex(source: string, flags = ""): RegExp {
  enableLinearEngine();
  try {
    return new RegExp(source, `${flags}l`);
  } catch (err) {
    const message = (err as Error).message;
    if (message.includes("linear time")) {
      throw new RegexSyntaxError(
        `invalid regular expression: /${source}/ needs backtracking (backreferences, lookaround or nested quantifiers on ambiguous groups are not supported; Carrier2 runs regexes in linear time)`,
      );
    }
    throw new RegexSyntaxError(`invalid regular expression: ${message.replace(/^Invalid regular expression: /, "")}`);
  }
}
