#!/usr/bin/env node
// bench/s3: uploads and downloads 1 GiB through ltxkit's S3 store on Ceph RGW, streamed in bounded
// memory, and prints request counts, MB/s and peak RSS.
//   eval "$(bash conformance/s3/ceph-rgw.sh start)"; npm run build && node bench/s3/multipart.mjs [--mib 1024]
import { S3Store } from "../../dist/store/s3.js";

const mib = Number(process.argv[process.argv.indexOf("--mib") + 1] || 1024) || 1024;
const e = process.env;
if (!e.LTXKIT_S3_ENDPOINT) throw new Error('no S3 server: eval "$(bash conformance/s3/ceph-rgw.sh start)"');
const stats = {};
const s3 = new S3Store({ endpoint: e.LTXKIT_S3_ENDPOINT, bucket: e.LTXKIT_S3_BUCKET, accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY, partSize: 8 << 20, partConcurrency: 4, stats });
const total = mib << 20;
const chunk = new Uint8Array(1 << 20);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;
let sent = 0;
const body = new ReadableStream({
  pull(c) {
    if (sent >= total) return c.close();
    chunk[0] = sent >> 20;
    c.enqueue(chunk.slice());
    sent += chunk.length;
  },
});
const key = `bench/multipart-${mib}.bin`;
let t0 = performance.now();
const r = await s3.put(key, body);
const up = (performance.now() - t0) / 1000;
const upStats = { ...stats };
for (const k of Object.keys(stats)) delete stats[k];
t0 = performance.now();
let got = 0;
const parts = 8;
const per = Math.ceil(total / parts);
await Promise.all(Array.from({ length: parts }, async (_, i) => {
  const s = await s3.getStream(key, { offset: i * per, length: Math.min(per, total - i * per) });
  for await (const c of s) got += c.length;
}));
const down = (performance.now() - t0) / 1000;
if (got !== total || r.size !== total) throw new Error(`size mismatch: put ${r.size}, got ${got}, want ${total}`);
await s3.delete([key]);
console.log(`upload   ${mib} MiB: ${(total / 1e6 / up).toFixed(0)} MB/s, requests ${JSON.stringify(upStats)}, etag ${r.etag}`);
console.log(`download ${mib} MiB: ${(total / 1e6 / down).toFixed(0)} MB/s with ${parts} ranged GETs in parallel, requests ${JSON.stringify(stats)}`);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
