// Module Worker of the browser capture flow: sqlite-wasm with the capture VFS on OpfsVfsStorage,
// replicating to an OpfsStore replica and to S3 (Ceph RGW) over fetch. Commands come from Node.
import sqlite3InitModule from "/sqlite/index.mjs";
import { openCapturedDatabase } from "/dist/capture/mod.js";
import { OpfsStore, OpfsVfsStorage } from "/dist/adapters/browser.js";
import { memoryReplica, openReplica, restore, BytesSink } from "/dist/replica/mod.js";
import { S3Store } from "/dist/s3.js";
import { b64, errorResult } from "/t/codec.js";

let sqlite3;
let cap;
let storage;
let opfsReplica;
const hex = (t) => t.toString(16).padStart(16, "0");

const commands = {
  async start({ storagePath, opfsPath, s3url, env, syncInterval }) {
    sqlite3 ??= await sqlite3InitModule({ print: () => {}, printErr: () => {} });
    storage = await OpfsVfsStorage.open({ path: storagePath });
    opfsReplica = memoryReplica(await OpfsStore.open({ path: opfsPath }));
    const s3 = openReplica(s3url, { env, s3Store: (o) => new S3Store({ ...o, retries: 2 }) });
    const resumed = storage.maxPage() > 0;
    cap = await openCapturedDatabase(sqlite3, { storage, replicas: [opfsReplica, s3], syncInterval, name: "/app.db" });
    return { resumed, restoredTXID: cap.restoredTXID === undefined ? null : hex(cap.restoredTXID), position: hex(cap.status().position.txid), queue: cap.status().queue };
  },
  async exec(sql) {
    cap.db.exec(sql);
    return hex(cap.status().position.txid);
  },
  async value(sql) {
    const v = cap.db.selectValue(sql);
    return typeof v === "bigint" ? String(v) : v;
  },
  async sync() {
    const txid = await cap.sync({ timeout: 30_000 });
    return { txid: hex(txid), image: b64(sqlite3.capi.sqlite3_js_db_export(cap.db.pointer)) };
  },
  async status() {
    const s = cap.status();
    return { position: hex(s.position.txid), queue: s.queue };
  },
  /** Closes the database and restores the OPFS replica (latest) in the browser. */
  async finish() {
    await cap.close();
    storage.close();
    const sink = new BytesSink();
    const r = await restore(opfsReplica, { sink });
    return { txid: hex(r.txid), image: b64(sink.bytes()) };
  },
};

self.onmessage = async (ev) => {
  const { id, cmd, args } = ev.data;
  let result;
  try {
    result = { ok: true, value: JSON.parse(JSON.stringify(await commands[cmd](...args), (k, v) => (typeof v === "bigint" ? String(v) : v))) };
  } catch (e) {
    result = errorResult(e);
  }
  self.postMessage({ id, result });
};
