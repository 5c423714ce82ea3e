// The fuzz targets and the mutator, shared by the corpus replay in CI (test/fuzz-corpus.test.ts, on
// the TypeScript sources) and the long runs of bench/fuzz/run.mjs (on the built dist/).
//
// A target takes one input (bytes) and resolves to its outcome: "ok", or the code of the typed
// LtxError its main call threw (every call it makes may throw only an LtxError with a known code;
// anything else is rethrown, a failure). The runners add the time budget and the allocation bound.
//
// `load(path)` imports a library module by its path under lib/ without extension ("ltx/decoder").

/** Names of the targets, in run order. */
export const TARGETS = ["ltx-v3", "ltx-v2", "ltx-v1", "lz4-block", "lz4-frame", "page-index", "wal", "replica-url", "config"];

/**
 * Builds the targets: { name: { run(bytes) → Promise, seeds: Uint8Array[] } }. `seedFiles` maps a
 * target name to seed inputs found on disk by the caller (LTX vectors and fixtures); each target
 * adds seeds of its own (synthetic WALs, URLs, configs, blocks cut out of the LTX seeds).
 */
export async function makeTargets(load, seedFiles = {}) {
  CODES = new Set((await load("errors")).ERROR_CODES);
  const { Decoder, verifyLtx } = await load("ltx/decoder");
  const { decompressBlock, decompressLoops, compressBlockBound } = await load("ltx/lz4-block");
  const { compressBlock } = await load("ltx/lz4-compress");
  const { decodeFrame, decodeFrameToEnd, frameLength, encodeFrame } = await load("ltx/lz4-frame");
  const { decodePageIndexEntries, decodePageIndexFromTail, decodePageFrame, encodePageIndex } = await load("ltx/page-index");
  const { crc64, CHECKSUM_FLAG } = await load("ltx/checksum");
  const { encodeWalHeader, encodeWalFrame, decodeWalHeader, decodeWalFrameHeader, walChecksum } = await load("capture/wal");
  const { readWalHeader, scanWal, planSync, readFramePage, frameSize } = await load("capture/wal-reader");
  const { parseReplicaURL, redact } = await load("replica/url");
  const { parseConfig, parseGoDuration, expandEnv } = await load("cli/config");

  const ltxSeeds = seedFiles.ltx ?? [];
  const utf8 = new TextDecoder("utf-8", { fatal: false });
  const text = (b) => utf8.decode(b);
  const bytes = (s) => new TextEncoder().encode(s);

  // An LTX input is one options byte and the file. The options byte picks how the file is read:
  // bit 0 recomputes the file checksum first, so that mutations get past the trailer check to the
  // checks behind it (the strict index rules, the post-apply checksum); bit 1 strict mode; bit 2
  // feeds the file as a stream of chunks (bits 4-5 pick the chunk size), so that every field can
  // straddle a chunk boundary; bit 3 runs verifyLtx (page views, no copies) instead of
  // the Decoder's header, readPage and close (what decodeLtx runs).
  const withChecksum = (b) => {
    if (b.length < 16) return b;
    const c = b.slice();
    const sum = CHECKSUM_FLAG | crc64(c.subarray(0, c.length - 8));
    new DataView(c.buffer).setBigUint64(c.length - 8, sum);
    return c;
  };
  const CHUNKS = [7, 61, 509, 4093];
  async function* chunked(b, n) {
    for (let o = 0; o < b.length; o += n) yield b.subarray(o, o + n);
  }
  const ltx = (format) => async (b) => {
    if (b.length === 0) return "ok";
    const o = b[0];
    let file = b.subarray(1);
    if (o & 1) file = withChecksum(file);
    const input = o & 4 ? chunked(file, CHUNKS[(o >> 4) & 3]) : file;
    const opts = { format, strict: (o & 2) !== 0, maxFileBytes: 1 << 24 };
    if (o & 8) {
      const r = await settle(() => verifyLtx(input, opts));
      return r instanceof Error ? `${r.code} (verify)` : "ok (verify)";
    }
    // decodeLtx step by step, to tell how far an input got: header, pages, or trailer and index.
    const d = new Decoder(input, opts);
    let stage = "header";
    const r = await settle(async () => {
      await d.readHeader();
      stage = "pages";
      while (await d.readPage());
      stage = "trailer";
      await d.close();
    });
    return r instanceof Error ? `${r.code} (${stage})` : "ok";
  };
  // The seeds: each file under the options that read it whole, with and without checksum repair.
  const ltxInputs = (files) => files.flatMap((f) => [0, 1, 2, 3, 9, 0x15, 0x2f].map((o) => concat([Uint8Array.of(o), f])));

  // Blocks cut out of the block-encoded LTX seeds (pages with the size flag), and a few compressed
  // here; the first byte of an input picks the output capacity.
  const blockSeeds = [];
  for (const f of ltxSeeds) {
    for (let p = 100; p + 10 <= f.length && blockSeeds.length < 400; ) {
      const pgno = ((f[p] << 24) | (f[p + 1] << 16) | (f[p + 2] << 8) | f[p + 3]) >>> 0;
      const flags = (f[p + 4] << 8) | f[p + 5];
      if (pgno === 0 || flags !== 1) break;
      const n = ((f[p + 6] << 24) | (f[p + 7] << 16) | (f[p + 8] << 8) | f[p + 9]) >>> 0;
      if (p + 10 + n > f.length) break;
      blockSeeds.push(concat([Uint8Array.of(0), f.subarray(p + 10, p + 10 + n)]));
      p += 10 + n;
    }
  }
  for (const src of sampleData()) {
    const out = new Uint8Array(compressBlockBound(src.length));
    blockSeeds.push(concat([Uint8Array.of(src.length > 4096 ? 2 : 1), out.subarray(0, compressBlock(src, out))]));
  }
  const CAPS = [4096, 4096, 65536, 512, 0, 1, 17, 65536 + 7];
  const dsts = CAPS.map((c) => [new Uint8Array(c), new Uint8Array(c)]);
  // Both decompressors (the WebAssembly kernel where it runs, and the TypeScript loops) must agree:
  // the same length and bytes, or both an LtxError.
  const lz4Block = async (b) => {
    if (b.length === 0) return "ok";
    const [d1, d2] = dsts[b[0] % CAPS.length];
    const block = b.subarray(1);
    const r1 = outcome(() => decompressBlock(block, d1));
    const r2 = outcome(() => decompressLoops(block, 0, block.length, d2, 0));
    if (r1.error && !isTyped(r1.error)) throw r1.error;
    if (r2.error && !isTyped(r2.error)) throw r2.error;
    if (!!r1.error !== !!r2.error || (!r1.error && (r1.value !== r2.value || !equal(d1.subarray(0, r1.value), d2.subarray(0, r2.value))))) {
      throw new Error(`lz4 kernel and TypeScript loops disagree: ${describe(r1)} vs ${describe(r2)}`);
    }
    // A block that decodes must decode the same way when it is linked behind earlier output.
    if (!r1.error && r1.value > 0 && d1.length >= r1.value + 64) {
      const linked = new Uint8Array(r1.value + 64);
      const n = decompressLoops(block, 0, block.length, linked, 64);
      if (n !== r1.value || !equal(linked.subarray(64), d1.subarray(0, n))) throw new Error("linked block decodes differently");
    }
    return r1.error ? r1.error.code : "ok";
  };

  const frameSeeds = [];
  for (const src of sampleData()) frameSeeds.push(concat([Uint8Array.of(src.length > 4096 ? 2 : 0), encodeFrame(src)]));
  const frameDsts = [4096, 65536, 512].map((c) => new Uint8Array(c));
  const lz4Frame = async (b) => {
    if (b.length === 0) return "ok";
    const f = b.subarray(1);
    await settle(() => frameLength(f, 0));
    await settle(() => decodeFrame(f, frameDsts[b[0] % frameDsts.length]));
    return outcomeOf(await settle(() => decodeFrameToEnd(f, 1 << 20)));
  };

  // Page index inputs: the tail of an LTX file (index, size field, trailer) with a file size.
  const indexSeeds = [];
  for (const f of ltxSeeds.slice(0, 40)) indexSeeds.push(f.subarray(Math.max(0, f.length - 600)));
  indexSeeds.push(concat([encodePageIndex([{ pgno: 1, offset: 100, size: 50 }, { pgno: 3, offset: 150, size: 4106 }]), new Uint8Array(24)]));
  const pageIndex = async (b) => {
    const r = await settle(() => decodePageIndexFromTail(b, b.length + 100));
    await settle(() => decodePageIndexFromTail(b, b.length));
    await settle(() => decodePageIndexEntries(b, 0, b.length, true, 1 << 20));
    await settle(() => decodePageIndexEntries(b, 0, b.length, false));
    for (const ps of [512, 4096]) await settle(() => decodePageFrame(b, ps));
    return outcomeOf(r);
  };

  // WAL inputs: whole WAL files (header, frames) read through an in-memory file.
  const walSeeds = [];
  for (const [ps, be, frames] of [[512, false, 3], [1024, true, 2], [4096, false, 2], [512, true, 5]]) {
    const h = { bigEndian: be, pageSize: ps, checkpointSeq: 0, salt1: 0x1234, salt2: 0x5678 };
    const parts = [encodeWalHeader(h)];
    let seed = decodeWalHeader(parts[0]).checksum;
    for (let i = 1; i <= frames; i++) {
      const page = new Uint8Array(ps).fill(i);
      const fr = encodeWalFrame(h, i, i === frames || i === 2 ? i : 0, page, seed);
      seed = fr.checksum;
      parts.push(fr.frame);
    }
    const w = concat(parts);
    for (const o of [0, 1, 3]) walSeeds.push(concat([Uint8Array.of(o), w]));
  }
  // The first byte of a WAL input: bit 0 re-chains the checksums (header and every frame, in the
  // header's byte order) after the mutation, so that the scan reads past the first mutated frame
  // to the commit, page and salt rules behind it; bit 1 scans without an end offset (the reader
  // then finds the end of the file by itself).
  const rechain = (b) => {
    if (b.length < 32) return b;
    const c = b.slice();
    const dv = new DataView(c.buffer);
    const be = (dv.getUint32(0) & 1) === 1;
    let sum = walChecksum(be, c.subarray(0, 24));
    dv.setUint32(24, sum[0]);
    dv.setUint32(28, sum[1]);
    const ps = dv.getUint32(8);
    if (ps < 512 || ps > 65536 || (ps & (ps - 1)) !== 0) return c;
    for (let off = 32; off + 24 + ps <= c.length; off += 24 + ps) {
      sum = walChecksum(be, c.subarray(off, off + 8), sum);
      sum = walChecksum(be, c.subarray(off + 24, off + 24 + ps), sum);
      dv.setUint32(off + 16, sum[0]);
      dv.setUint32(off + 20, sum[1]);
    }
    return c;
  };
  const wal = async (b0) => {
    if (b0.length === 0) return "ok";
    const b = b0[0] & 1 ? rechain(b0.subarray(1)) : b0.subarray(1);
    await settle(() => decodeWalFrameHeader(b));
    const f = memoryFile(b);
    const h = await settle(() => readWalHeader(f));
    if (!h || h instanceof Error) return outcomeOf(h);
    const scan = await settle(() => scanWal(f, h, { offset: 32, seed: h.checksum, maxBytes: Infinity, endOffset: b0[0] & 2 ? undefined : b.length }));
    if (scan && !(scan instanceof Error)) for (const [pgno, off] of scan.pages) await settle(() => readFramePage(f, h, off, pgno));
    const fs = frameSize(h.pageSize);
    for (const k of [0, 1, 2]) {
      const pos = { offset: 32 + k * fs, salt1: h.salt1, salt2: h.salt2, commit: 1 };
      await settle(() => planSync(f, { pos, header: h, walSize: b.length, pageSize: h.pageSize, sealed: null }));
      await settle(() => planSync(f, { pos: { ...pos, salt1: h.salt1 - 1 }, header: h, walSize: b.length, pageSize: h.pageSize, sealed: { salt1: h.salt1 - 1, salt2: h.salt2 } }));
    }
    // A scan that returns has read frames up to the first that breaks the chain; it reached the
    // commit rules when it took at least one committed transaction.
    if (scan instanceof Error) return scan.code;
    return scan.commit > 0 ? `ok (${scan.pages.size > 1 ? "pages" : "a page"} committed)` : "ok (nothing committed)";
  };

  const urlSeeds = [
    "file:///var/lib/db/replica",
    "/var/lib/replica",
    "relative/dir",
    "file://localhost/tmp/x%20y",
    "s3://bucket/prefix/db?endpoint=127.0.0.1:8000&region=us-east-1&forcePathStyle=true",
    "s3://my-bucket/a/../b/./c?force-path-style=1",
    "s3://bucket",
    "memory://",
    "gs://bucket/x",
    "s3://user:secret@bucket/p?endpoint=https://h",
  ].map(bytes);
  const replicaURL = async (b) => {
    const s = text(b);
    const r = await settle(() => parseReplicaURL(s));
    await settle(() => redact(s));
    return outcomeOf(r);
  };

  const configSeeds = [
    "dbs:\n  - path: /data/app.db\n    replica:\n      url: s3://bucket/app\n",
    "levels:\n  - interval: 5m\n  - interval: 1h\nsnapshot:\n  interval: 24h\n  retention: 72h\nl0-retention: 5m\ndbs:\n  - path: ./x.db\n    monitor-interval: 1s\n    checkpoint-interval: 1m\n    busy-timeout: 1s\n    min-checkpoint-page-count: 1000\n    replicas:\n      - type: file\n        path: /backups/x\n      - url: s3://b/p?endpoint=h:1\n        sync-interval: 1s\n",
    "access-key-id: $AWS_ACCESS_KEY_ID\nsecret-access-key: ${SECRET}\nregion: us-east-1\ndbs:\n  - path: ~/db.sqlite\n    meta-path: /tmp/meta\n    replica:\n      type: s3\n      bucket: b\n      path: p\n      endpoint: http://127.0.0.1:9000\n      force-path-style: true\n",
    "exec: sleep 1\nshutdown-sync-timeout: 30s\ndbs: []\n",
    "dbs:\n  - path: a.db\n    replica: {url: 'file:///r', retention: 1h30m}\n",
  ].map(bytes);
  const configCwd = "/nonexistent-ltxkit-fuzz";
  const config = async (b) => {
    const s = text(b);
    await settle(() => parseGoDuration(s));
    await settle(() => expandEnv(s, (k) => (k === "X" ? "$X" : "")));
    // A `dir:` entry makes the loader list a directory tree: a legitimate config, but a scan of
    // whatever path the mutation produced, so such inputs only go through the YAML layer above.
    if (/dir/.test(s)) return "skipped (dir)";
    return outcomeOf(await settle(() => parseConfig(s, { env: { AWS_ACCESS_KEY_ID: "k", SECRET: "s" }, pid: 1, cwd: configCwd, home: configCwd })));
  };

  const seedsOr = (xs, fallback) => (xs.length ? xs : fallback);
  return {
    "ltx-v3": { run: ltx("v3"), seeds: ltxInputs(seedsOr(seedFiles["ltx-v3"] ?? ltxSeeds, [new Uint8Array(100)])) },
    "ltx-v2": { run: ltx("v2"), seeds: ltxInputs(seedsOr(seedFiles["ltx-v2"] ?? [], ltxSeeds)) },
    "ltx-v1": { run: ltx("v1"), seeds: ltxInputs(seedsOr(seedFiles["ltx-v1"] ?? [], ltxSeeds)) },
    "lz4-block": { run: lz4Block, seeds: blockSeeds },
    "lz4-frame": { run: lz4Frame, seeds: frameSeeds },
    "page-index": { run: pageIndex, seeds: indexSeeds },
    wal: { run: wal, seeds: walSeeds },
    "replica-url": { run: replicaURL, seeds: urlSeeds },
    config: { run: config, seeds: configSeeds },
  };
}

let CODES = new Set();

/** True for an error ltxkit is allowed to throw: an LtxError (by name, not class) with one of ERROR_CODES. */
export function isTyped(e) {
  return typeof e === "object" && e !== null && e.name === "LtxError" && CODES.has(e.code);
}

/** The outcome of a settled call: "ok", or the code of the LtxError it threw. */
function outcomeOf(r) {
  return r instanceof Error ? r.code : "ok";
}

/** Runs fn; returns its value, or the LtxError it threw; rethrows anything else. */
async function settle(fn) {
  try {
    return await fn();
  } catch (e) {
    if (isTyped(e)) return e;
    throw e;
  }
}

function outcome(fn) {
  try {
    return { value: fn() };
  } catch (error) {
    return { error };
  }
}

const describe = (r) => (r.error ? `${r.error.code ?? r.error.name}` : `${r.value} bytes`);

function equal(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

function memoryFile(b) {
  return {
    size: async () => b.length,
    read: async (offset, length) => b.subarray(Math.min(offset, b.length), Math.min(offset + length, b.length)),
    close: async () => {},
  };
}

/** Page-like data: zeros, text, runs, noise, of a few sizes. */
function sampleData() {
  const r = rng(7);
  const out = [];
  for (const n of [1, 15, 100, 512, 4096, 65536]) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = i % 97 < 40 ? (i * 7) & 0xff : i % 13 === 0 ? r() & 0xff : 0x41 + (i % 5);
    out.push(a);
  }
  out.push(new Uint8Array(4096), Uint8Array.from({ length: 4096 }, () => r() & 0xff));
  return out;
}

/** xorshift32: a deterministic stream of unsigned 32-bit numbers. */
export function rng(seed) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x0f, 0xf0, 0x10];
const INTERESTING_32 = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 512, 4096, 65536, 65535, 100, 0x10000000, 0x40000000, 4097];

/**
 * One mutant of `input`: 1 to 4 of bit flips, interesting bytes and 16/32-bit words (both byte
 * orders), random bytes, deleted, duplicated or inserted ranges, truncation, and splices with
 * another seed. Never longer than maxLen.
 */
export function mutate(input, next, seeds, maxLen = 1 << 20) {
  let b = input.slice();
  const n = 1 + (next() % 4);
  for (let k = 0; k < n; k++) {
    const len = b.length;
    const at = len ? next() % len : 0;
    switch (next() % 11) {
      case 0:
        if (len) b[at] ^= 1 << (next() % 8);
        break;
      case 1:
        if (len) b[at] = INTERESTING_8[next() % INTERESTING_8.length];
        break;
      case 2:
        if (len) b[at] = next() & 0xff;
        break;
      case 3:
      case 4: {
        if (len < 4) break;
        const v = INTERESTING_32[next() % INTERESTING_32.length] + ((next() % 3) - 1);
        const p = next() % (len - 3);
        const dv = new DataView(b.buffer, b.byteOffset, b.length);
        if (next() & 1) dv.setUint32(p, v >>> 0, (next() & 1) === 1);
        else dv.setUint16(p, v & 0xffff, (next() & 1) === 1);
        break;
      }
      case 5: {
        // delete a range
        if (!len) break;
        const m = 1 + (next() % Math.min(len - at, 64));
        b = concat([b.subarray(0, at), b.subarray(at + m)]);
        break;
      }
      case 6: {
        // duplicate a range in place
        if (!len) break;
        const m = 1 + (next() % Math.min(len - at, 256));
        b = concat([b.subarray(0, at + m), b.subarray(at, at + m), b.subarray(at + m)]);
        break;
      }
      case 7: {
        // insert random bytes
        const m = 1 + (next() % 16);
        const ins = new Uint8Array(m);
        for (let i = 0; i < m; i++) ins[i] = next() & 0xff;
        b = concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 8:
        // truncate
        b = b.subarray(0, at);
        break;
      case 9: {
        // splice: this input's head with another seed's tail
        const o = seeds[next() % seeds.length];
        if (!o.length) break;
        const from = next() % o.length;
        b = concat([b.subarray(0, at), o.subarray(from)]);
        break;
      }
      default: {
        // overwrite a range with a copy of another part of the input
        if (len < 2) break;
        const m = 1 + (next() % Math.min(len - at, 32));
        const src = next() % (len - m + 1);
        b.set(b.slice(src, src + m), at);
      }
    }
  }
  return b.length > maxLen ? b.subarray(0, maxLen) : b;
}
