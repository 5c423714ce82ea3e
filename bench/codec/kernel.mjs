// One ltxkit kernel in its own process (JIT state must not leak between kernels). Runs the kernel
// once to warm up, then again and again until LTXKIT_BENCH_SECONDS (default 0: no further runs)
// have passed, and prints JSON: {"kernel", "lz4", "bytes", "seconds", "runs", "cold_seconds",
// "cpu_seconds", "maxrss_kb"}, where bytes, seconds and cpu_seconds sum the runs after the first
// (the first run's alone when there are none). Imports the built package (npm run build), or the one
// in LTXKIT_BENCH_DIST (another build, to compare two versions in one run).
//   node kernel.mjs encode DB OUT | decode FILE | crc64 FILE | stream-decode FILE | make-big OUT MIB
import { readFileSync, openSync, readSync, writeSync, closeSync, fstatSync, createWriteStream, createReadStream } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dist = process.env.LTXKIT_BENCH_DIST ? pathToFileURL(resolve(process.env.LTXKIT_BENCH_DIST)).href : new URL("../../dist", import.meta.url).href;
const { Encoder, Decoder, verifyLtx, crc64, lockPgno, newHeader, sqlitePageSize, useWasmKernels } = await import(`${dist}/mod.js`);
const { encodeLtx } = await import(`${dist}/ltx/encoder.js`);

const [kernel, a1, a2] = process.argv.slice(2);
// LTXKIT_BENCH_KERNELS=ts measures the pure-TypeScript LZ4 and CRC-64 loops instead of the
// WebAssembly kernels (reported as `lz4`: "wasm" or "ts").
const lz4 = process.env.LTXKIT_BENCH_KERNELS === "ts" ? (useWasmKernels(false), "ts") : useWasmKernels(true) ? "wasm" : "ts";
const minSeconds = Number(process.env.LTXKIT_BENCH_SECONDS ?? 0) || 0;
const rss = () => Math.round(process.resourceUsage().maxRSS);

/** Runs `once` (which returns {bytes, seconds, cpu}) as the header says and prints the result. */
async function repeat(once) {
  const cold = await once();
  let bytes = 0, seconds = 0, cpu = 0, runs = 0;
  while (seconds < minSeconds) {
    const r = await once();
    bytes += r.bytes;
    seconds += r.seconds;
    cpu += r.cpu;
    runs++;
  }
  if (runs === 0) ({ bytes, seconds, cpu } = cold);
  console.log(JSON.stringify({ kernel, lz4, bytes, seconds, runs, cold_seconds: cold.seconds, cpu_seconds: cpu, maxrss_kb: rss() }));
}

/** Times fn() (wall and CPU seconds of this process). */
async function timed(fn) {
  const c0 = process.cpuUsage(), t0 = performance.now();
  const bytes = await fn();
  const seconds = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
  return { bytes, seconds, cpu: (c.user + c.system) / 1e6 };
}
const report = (bytes, seconds) => console.log(JSON.stringify({ kernel, lz4, bytes, seconds, runs: 0, cold_seconds: seconds, maxrss_kb: rss() }));

async function writeAll(stream, path) {
  const ws = createWriteStream(path, { highWaterMark: 1 << 20 });
  for await (const c of stream) if (!ws.write(c)) await new Promise((r) => ws.once("drain", r));
  await new Promise((r, j) => ws.end((e) => (e ? j(e) : r())));
}

if (kernel === "encode") {
  await repeat(() => timed(() => encodeFile(a1, a2)));
} else if (kernel === "decode") {
  const b = new Uint8Array(readFileSync(a1));
  await repeat(() => timed(async () => {
    const v = await verifyLtx(b);
    return v.pageCount * v.header.pageSize;
  }));
} else if (kernel === "crc64") {
  const b = new Uint8Array(readFileSync(a1));
  let c = 0n;
  await repeat(() => timed(() => ((c = crc64(b)), b.length)));
  process.stderr.write(c.toString(16).padStart(16, "0") + "\n");
} else if (kernel === "stream-decode") {
  const t0 = performance.now();
  const r = new Decoder(createReadStream(a1, { highWaterMark: 1 << 20 }));
  const h = await r.readHeader();
  let n = 0;
  while (await r.readPageView()) n++;
  await r.close();
  report(n * h.pageSize, (performance.now() - t0) / 1000);
} else if (kernel === "make-big") {
  // A NoChecksum snapshot of MIB mebibytes of mixed 4 KiB pages, streamed to disk.
  const ps = 4096, commit = (Number(a2) << 20) / ps;
  const page = new Uint8Array(ps);
  const pages = (function* () {
    for (let p = 1; p <= commit; p++) {
      if (p === lockPgno(ps)) continue;
      for (let i = 0; i < ps; i += 64) page[i] = (p * 31 + i) & 0xff;
      page.fill(p & 0xff, 0, 200);
      yield { pgno: p, data: page };
    }
  })();
  await writeAll(encodeLtx(newHeader({ flags: 2, pageSize: ps, commit, minTXID: 1n, maxTXID: 1n }), pages), a1);
  report(commit * ps, 0);
} else {
  console.error("unknown kernel");
  process.exit(2);
}

/** A NoChecksum snapshot of the SQLite file db written to outPath (synchronous buffered writes, as Go's
 *  benchmark uses its encoder over bufio); returns the page bytes encoded. */
function encodeFile(db, outPath) {
  const fd = openSync(db, "r");
  const hdr = Buffer.alloc(100);
  readSync(fd, hdr, 0, 100, 0);
  const ps = sqlitePageSize(hdr);
  const size = fstatSync(fd).size;
  const commit = size / ps;
  const lock = lockPgno(ps);
  const pages = (function* () {
    const batch = Math.max(1, (1 << 20) / ps);
    const buf = new Uint8Array(batch * ps);
    for (let p = 1; p <= commit; p += batch) {
      const n = Math.min(batch, commit - p + 1);
      readSync(fd, buf, 0, n * ps, (p - 1) * ps);
      for (let i = 0; i < n; i++) if (p + i !== lock) yield { pgno: p + i, data: buf.subarray(i * ps, (i + 1) * ps) };
    }
  })();
  const header = newHeader({ flags: 2, pageSize: ps, commit, minTXID: 1n, maxTXID: 1n, timestamp: Date.now() });
  // The Encoder with buffered synchronous writes, as Go's benchmark uses its encoder over bufio.
  const out = openSync(outPath, "w");
  const buf = new Uint8Array(1 << 20);
  let used = 0;
  const put = (b) => {
    if (used + b.length > buf.length) {
      writeSync(out, buf, 0, used);
      used = 0;
    }
    if (b.length > buf.length) writeSync(out, b);
    else (buf.set(b, used), (used += b.length));
  };
  const enc = new Encoder();
  put(enc.encodeHeader(header));
  for (const p of pages) put(enc.encodePage(p.pgno, p.data));
  put(enc.close());
  writeSync(out, buf, 0, used);
  closeSync(out);
  closeSync(fd);
  return commit * ps;
}
