/** Listing and writing LTX files of a replica, with timestamps read as Go Litestream reads them. */
import { LtxError } from "../errors.ts";
import { formatRFC3339Nano } from "../ltx/txid.ts";
import type { PutBody, PutOptions } from "../store/blob-store.ts";
import { compareFileInfo, SNAPSHOT_LEVEL, type FileInfo } from "./file-info.ts";
import type { Replica } from "./replica.ts";

/** S3 object metadata key holding the LTX timestamp (RFC 3339 with nanoseconds). */
export const METADATA_TIMESTAMP = "litestream-timestamp";

/** Options of listLevel and listAll. */
export interface ListLevelOptions {
  /** Read CreatedAt from object metadata (one HEAD per object on S3), as Go's timestamp restores do. */
  useMetadata?: boolean;
  /** HEAD requests at once (default 50, as Go). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Files of one level, sorted by (minTXID, maxTXID); names that are not LTX files are skipped. */
export async function listLevel(replica: Replica, level: number, opts: ListLevelOptions = {}): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for await (const b of replica.store.list(replica.layout.levelPrefix(level), { signal: opts.signal })) {
    const k = replica.layout.parseKey(b.key);
    if (!k || k.level !== level) continue;
    out.push({ level, minTXID: k.minTXID, maxTXID: k.maxTXID, size: b.size, createdAt: b.lastModified, key: b.key });
  }
  out.sort(compareFileInfo);
  if (opts.useMetadata && replica.timestampFromMetadata) await fillMetadataTimestamps(replica, out, opts);
  return out;
}

/** Files of every level 0..9, level by level. */
export async function listAll(replica: Replica, opts: ListLevelOptions = {}): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (let level = 0; level <= SNAPSHOT_LEVEL; level++) out.push(...(await listLevel(replica, level, opts)));
  return out;
}

async function fillMetadataTimestamps(replica: Replica, files: FileInfo[], opts: ListLevelOptions): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < files.length) {
      const f = files[i++]!;
      const h = await replica.store.head(f.key, { signal: opts.signal });
      const ts = h?.metadata?.[METADATA_TIMESTAMP];
      if (ts) {
        const d = new Date(ts);
        if (!Number.isNaN(d.getTime())) f.createdAt = d;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 50, files.length) }, worker));
}

/**
 * Writes one LTX file as Go Litestream does: file replicas get the mtime set to the LTX timestamp,
 * S3 replicas the `litestream-timestamp` metadata. `transfer`: the body is immutable from now on
 * (PutOptions.transfer), so a memory store may keep it without a copy.
 */
export async function writeLtxFile(replica: Replica, level: number, minTXID: bigint, maxTXID: bigint, body: PutBody, timestampMs: number, signal?: AbortSignal, transfer = false): Promise<FileInfo> {
  if (minTXID > maxTXID) throw new LtxError("INVALID_ARGUMENT", `transaction ids out of order: (${minTXID},${maxTXID})`);
  const key = replica.layout.key(level, minTXID, maxTXID);
  const when = new Date(timestampMs);
  const opts: PutOptions = { mtime: when, metadata: { [METADATA_TIMESTAMP]: formatRFC3339Nano(timestampMs) }, signal };
  if (transfer) opts.transfer = true;
  const r = await replica.store.put(key, body, opts);
  return { level, minTXID, maxTXID, size: r.size, createdAt: when, key };
}
