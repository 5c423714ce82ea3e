/**
 * The Replicator's startup (spec: litestream-replica.md §3.1): the local position from the local
 * L0 files, each replica's position (one LIST of level 0, with the continuation check of the
 * Uploader), and the adoption of a remote that is ahead of the local position.
 *
 * - A remote ahead at startup (a restore on a fresh host, Litestream issue #781) is adopted through
 *   `source.adoptRemote`: the newest remote L0 file becomes the local position (Go's
 *   checkDatabaseBehindReplica). The replica furthest ahead wins.
 * - A remote that is not a continuation of the local chain stops that replica with
 *   REPLICA_MISMATCH (set by the Uploader); nothing is written to it.
 */
import { LtxError } from "../errors.ts";
import type { L0Source } from "./replicator-types.ts";
import { listLevel } from "./list.ts";
import type { Uploader } from "./uploader.ts";

/** The largest remote L0 file adopted (it is read into memory). */
const MAX_ADOPT_BYTES = 1 << 30;

/** Where the local chain stands once the startup is done. */
export interface StartupResult {
  /** The newest local TXID (the adopted one after an adoption). */
  localPos: bigint;
  /** The lowest local L0 TXID that may still be on disk. */
  localLow: bigint;
  /** True when a remote ahead was adopted (the capture history starts over). */
  adopted: boolean;
}

/**
 * Reads the local position, then each replica's (through `initReplica`, which runs the Uploader's
 * init in its upload lane and records a failure on the replica), and adopts the replica furthest
 * ahead. Rejects when the local listing or the adoption fails; the caller tries again.
 */
export async function recoverPositions(source: L0Source, uploaders: readonly Uploader[], initReplica: (rs: Uploader, localPos: bigint) => Promise<void>, signal: AbortSignal): Promise<StartupResult> {
  const local = await listLevel(source.local, 0, { signal });
  let localPos = local.reduce((m, f) => (f.maxTXID > m ? f.maxTXID : m), 0n);
  let localLow = local[0]?.minTXID ?? 1n;
  await Promise.all(uploaders.map((rs) => initReplica(rs, localPos)));
  let ahead: Uploader | undefined;
  for (const rs of uploaders) if (!rs.fatal && rs.pos !== undefined && rs.pos > localPos && (!ahead || rs.pos > ahead.pos!)) ahead = rs;
  if (!ahead) return { localPos, localLow, adopted: false };
  const txid = ahead.pos!;
  const f = ahead.cache.last(0)!;
  if (f.size > MAX_ADOPT_BYTES) throw new LtxError("LIMIT_EXCEEDED", `remote L0 file too large to adopt: ${f.size} bytes`);
  const bytes = await ahead.replica.store.get(f.key, undefined, { signal });
  if (!bytes) throw new LtxError("NOT_FOUND", `remote L0 file disappeared: ${f.key}`);
  await source.adoptRemote(txid, bytes);
  if (local.length === 0) localLow = txid; // else the old local files go once every replica holds them
  localPos = txid;
  return { localPos, localLow, adopted: true };
}
