#!/usr/bin/env node
/** Entry point of the `ltxkit` binary. */
import process from "node:process";
import { main } from "./run.ts";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`ltxkit: internal error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(70);
  },
);
