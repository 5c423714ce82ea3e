/**
 * A small argument parser for the ltxkit CLI. Accepts `-flag`, `--flag`, `--flag=value`,
 * `-flag value`, and `--` to end options, as Go's flag package and GNU tools do.
 */
import { LtxError } from "../errors.ts";

export interface FlagSpec {
  /** Names without dashes; the first is canonical. */
  names: string[];
  /** Boolean flags take no value. */
  type: "boolean" | "string";
  /** May be given more than once (values collected into an array). */
  multiple?: boolean;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map<string, FlagSpec>();
  for (const s of specs) for (const n of s.names) byName.set(n, s);
  const flags: ParsedArgs["flags"] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw new LtxError("INVALID_ARGUMENT", `unknown flag: ${arg}`);
    const key = spec.names[0]!;
    let value: string | boolean;
    if (spec.type === "boolean") {
      if (eq >= 0) {
        const v = body.slice(eq + 1);
        if (v !== "true" && v !== "false") throw new LtxError("INVALID_ARGUMENT", `flag ${arg}: expected true or false`);
        value = v === "true";
      } else value = true;
    } else if (eq >= 0) {
      value = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new LtxError("INVALID_ARGUMENT", `flag -${name} needs a value`);
      value = argv[++i]!;
    }
    if (spec.multiple) {
      const prev = flags[key];
      flags[key] = [...(Array.isArray(prev) ? prev : []), String(value)];
    } else flags[key] = value;
  }
  return { flags, positionals };
}

/** Reads a string flag, or undefined. */
export function str(a: ParsedArgs, name: string): string | undefined {
  const v = a.flags[name];
  return typeof v === "string" ? v : undefined;
}

/** Reads a boolean flag (false when absent). */
export function bool(a: ParsedArgs, name: string): boolean {
  return a.flags[name] === true;
}

/** Reads an integer flag within bounds, or the default. */
export function int(a: ParsedArgs, name: string, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = str(a, name);
  if (v === undefined) return dflt;
  if (!/^-?\d+$/.test(v)) throw new LtxError("INVALID_ARGUMENT", `flag -${name}: not an integer: ${v}`);
  const n = Number(v);
  if (n < min || n > max) throw new LtxError("INVALID_ARGUMENT", `flag -${name}: ${n} is outside ${min}..${max}`);
  return n;
}
