import { describe, it, expect } from "vitest";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { Uploader } from "../../lib/replica/uploader.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import { DEFAULT_COMPACTION_CONFIG } from "../../lib/replica/schedule.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import type { BlobStore } from "../../lib/store/blob-store.ts";
import { CountingStore } from "./instrumented.ts";
import { mixedPage } from "../ltx/helpers.ts";

const PS = 1024;
const T0 = Date.UTC(2026, 0, 1);

/** A memory store that does not declare `inMemory`, as a store on disk or over the network would not. */
class OpaqueStore implements BlobStore {
  readonly kind = "file";
  readonly #m = new MemoryStore();
  get: BlobStore["get"] = (...a) => this.#m.get(...a);
  getStream: BlobStore["getStream"] = (...a) => this.#m.getStream(...a);
  put: BlobStore["put"] = (...a) => this.#m.put(...a);
  list: BlobStore["list"] = (...a) => this.#m.list(...a);
  delete: BlobStore["delete"] = (...a) => this.#m.delete(...a);
  head: BlobStore["head"] = (...a) => this.#m.head(...a);
}

async function localWithL0(store: BlobStore): Promise<Uint8Array> {
  const file = encodeLtxBytes(
    { flags: 2, pageSize: PS, commit: 2, minTXID: 1n, maxTXID: 1n, timestamp: T0, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n },
    [1, 2].map((pgno) => ({ pgno, data: mixedPage(PS, pgno) })),
  );
  await writeLtxFile(memoryReplica(store), 0, 1n, 1n, file, T0);
  return file;
}

describe("Uploader.upload: how it reads the local L0 file", () => {
  it("reads a file of a store that declares inMemory with one whole get and no stream, and uploads it byte for byte", async () => {
    const local = new CountingStore(new MemoryStore());
    const file = await localWithL0(local);
    local.reset();
    const remote = new MemoryStore();
    const up = new Uploader(memoryReplica(remote), DEFAULT_COMPACTION_CONFIG);
    const info = await up.upload(memoryReplica(local), 1n, [], new AbortController().signal);
    expect(local.counts).toEqual({ get: 1, getStream: 0, put: 0, list: 0, delete: 0, head: 0 });
    expect(info.size).toBe(file.length);
    expect(await remote.get(info.key)).toEqual(file);
  });

  it("streams the file of a store that does not declare inMemory (a header read, then one stream)", async () => {
    const local = new CountingStore(new OpaqueStore());
    expect(local.inMemory).toBeUndefined();
    const file = await localWithL0(local);
    local.reset();
    const remote = new MemoryStore();
    const up = new Uploader(memoryReplica(remote), DEFAULT_COMPACTION_CONFIG);
    const info = await up.upload(memoryReplica(local), 1n, [], new AbortController().signal);
    expect(local.counts).toEqual({ get: 1, getStream: 1, put: 0, list: 0, delete: 0, head: 0 });
    expect(await remote.get(info.key)).toEqual(file);
  });
});
