#!/usr/bin/env node
// The `ltxkit` binary. Node runs every fsync and file read of replication on libuv's thread pool,
// four threads unless UV_THREADPOOL_SIZE says otherwise; with many databases those four threads
// are the bottleneck (each L0 file costs four fsyncs). The pool is sized once, when first used,
// and under Node that happens while ES modules load, before their first line runs. A CommonJS file
// loads synchronously, so this one sets the size (unless the environment already does) and then
// loads the CLI.
"use strict";
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = "16";
import("../dist/cli/main.js").catch((e) => {
  process.stderr.write(`ltxkit: cannot load the CLI: ${e && e.stack ? e.stack : String(e)}\n`);
  process.exit(70);
});
