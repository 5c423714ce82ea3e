/**
 * The `ltxkit` command. Thin: each command parses its flags and calls the library.
 * Exit codes: 0 success, 1 failure (invalid file, failed restore), 2 usage error.
 */
import { isLtxError } from "../errors.ts";
import { processIO, type CliIO } from "./io.ts";

/** A command module exports `run(argv, io)` and a one-line `summary`. */
export interface Command {
  summary: string;
  usage: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  dump: () => import("./dump.ts").then((m) => m.command),
  verify: () => import("./verify.ts").then((m) => m.command),
  "encode-db": () => import("./encode-db.ts").then((m) => m.command),
  checksum: () => import("./checksum.ts").then((m) => m.command),
  ls: () => import("./ls.ts").then((m) => m.command),
  restore: () => import("./restore.ts").then((m) => m.command),
  compact: () => import("./compact.ts").then((m) => m.command),
  replicate: () => import("./replicate.ts").then((m) => m.command),
  demo: () => import("./demo.ts").then((m) => m.command),
};

async function usage(io: CliIO): Promise<void> {
  const lines = ["usage: ltxkit <command> [flags] [args]", "", "commands:"];
  for (const [name, load] of Object.entries(COMMANDS)) {
    try {
      lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
    } catch {
      // a command whose module is not built yet is simply not listed
    }
  }
  lines.push("", "Run `ltxkit <command> -h` for the flags of a command.");
  io.err(lines.join("\n"));
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    await usage(io);
    return name ? 0 : 2;
  }
  const load = COMMANDS[name];
  if (!load) {
    io.err(`ltxkit: unknown command "${name}"`);
    await usage(io);
    return 2;
  }
  const cmd = await load();
  if (rest.includes("-h") || rest.includes("--help")) {
    io.err(cmd.usage);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (isLtxError(e)) {
      io.err(`ltxkit ${name}: ${e.message} [${e.code}]`);
      return e.code === "INVALID_ARGUMENT" ? 2 : 1;
    }
    throw e;
  }
}
