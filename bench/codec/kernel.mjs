// One ltxkit kernel in its own process (JIT state must not leak between kernels). Prints JSON:
// {"kernel", "bytes", "seconds", "maxrss_kb"}. Imports the built package (npm run build).
//   node kernel.mjs encode DB OUT | decode FILE | crc64 FILE | stream-decode FILE | make-big OUT MIB
import { readFileSync, openSync, readSync, writeSync, closeSync, createWriteStream, createReadStream } from "node:fs";
import { Encoder, Decoder, verifyLtx, crc64, lockPgno, useWasmKernels } from "../../dist/mod.js";
import { encodeLtx } from "../../dist/mod.js";

const [kernel, a1, a2] = process.argv.slice(2);
// LTXKIT_BENCH_KERNELS=ts measures the pure-TypeScript LZ4 and CRC-64 loops instead of the
// WebAssembly kernels (reported as `lz4`: "wasm" or "ts").
const lz4 = process.env.LTXKIT_BENCH_KERNELS === "ts" ? (useWasmKernels(false), "ts") : useWasmKernels(true) ? "wasm" : "ts";
const rss = () => Math.round(process.resourceUsage().maxRSS);
// cpu_seconds: CPU time of this process since it started the kernel (less disturbed by other load).
let cpu0 = process.cpuUsage();
const cpuSince = () => { const c = process.cpuUsage(cpu0); return (c.user + c.system) / 1e6; };
const report = (bytes, seconds) => console.log(JSON.stringify({ kernel, lz4, bytes, seconds, cpu_seconds: cpuSince(), maxrss_kb: rss() }));

async function writeAll(stream, path) {
  const ws = createWriteStream(path, { highWaterMark: 1 << 20 });
  for await (const c of stream) if (!ws.write(c)) await new Promise((r) => ws.once("drain", r));
  await new Promise((r, j) => ws.end((e) => (e ? j(e) : r())));
}

if (kernel === "encode") {
  const fd = openSync(a1, "r");
  const hdr = Buffer.alloc(100);
  readSync(fd, hdr, 0, 100, 0);
  const raw = hdr.readUInt16BE(16);
  const ps = raw === 1 ? 65536 : raw;
  const size = (await import("node:fs")).fstatSync(fd).size;
  const commit = size / ps;
  const lock = lockPgno(ps);
  const t0 = performance.now();
  cpu0 = process.cpuUsage();
  const pages = (function* () {
    const batch = Math.max(1, (1 << 20) / ps);
    const buf = new Uint8Array(batch * ps);
    for (let p = 1; p <= commit; p += batch) {
      const n = Math.min(batch, commit - p + 1);
      readSync(fd, buf, 0, n * ps, (p - 1) * ps);
      for (let i = 0; i < n; i++) if (p + i !== lock) yield { pgno: p + i, data: buf.subarray(i * ps, (i + 1) * ps) };
    }
  })();
  const header = { flags: 2, pageSize: ps, commit, minTXID: 1n, maxTXID: 1n, timestamp: Date.now(), preApplyChecksum: 0n, walOffset: 0, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n };
  // The Encoder with buffered synchronous writes, as Go's benchmark uses its encoder over bufio.
  const out = openSync(a2, "w");
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
  report(commit * ps, (performance.now() - t0) / 1000);
} else if (kernel === "decode") {
  const b = new Uint8Array(readFileSync(a1));
  const t0 = performance.now();
  cpu0 = process.cpuUsage();
  const v = await verifyLtx(b);
  report(v.pageCount * v.header.pageSize, (performance.now() - t0) / 1000);
} else if (kernel === "crc64") {
  const b = new Uint8Array(readFileSync(a1));
  const t0 = performance.now();
  cpu0 = process.cpuUsage();
  const c = crc64(b);
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(c.toString(16).padStart(16, "0") + "\n");
  report(b.length, s);
} else if (kernel === "stream-decode") {
  const t0 = performance.now();
  cpu0 = process.cpuUsage();
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
  await writeAll(encodeLtx({ flags: 2, pageSize: ps, commit, minTXID: 1n, maxTXID: 1n, timestamp: 0, preApplyChecksum: 0n, walOffset: 0, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n }, pages), a1);
  report(commit * ps, 0);
} else {
  console.error("unknown kernel");
  process.exit(2);
}
