/** The WAL source over a local database file (Node, Bun and Deno): file access and the staging replica. */
import { basename, dirname, join } from "node:path";
import type { SqliteOpener } from "../capture/sqlite.ts";
import { WalSource, type WalSourceOptions } from "../capture/wal-source.ts";
import { fileLayout } from "../replica/layout.ts";
import type { Replica } from "../replica/url.ts";
import { nodeFileAccess } from "./fs-random.ts";
import { FsStore } from "./fs-store.ts";
import { openSqlite } from "./sqlite-open.ts";

/** Litestream's meta directory of a database: `<dir>/.<file>-litestream`. */
export function defaultMetaPath(dbPath: string): string {
  return join(dirname(dbPath), `.${basename(dbPath)}-litestream`);
}

/** The local staging replica (file layout) in a meta directory. */
export function localReplica(metaPath: string): Replica {
  return { url: metaPath, kind: "file", store: new FsStore(metaPath), layout: fileLayout, timestampFromMetadata: false };
}

export type OpenWalSourceOptions = Omit<WalSourceOptions, "path" | "open" | "files" | "local"> & { open?: SqliteOpener; metaPath?: string };

/** Opens a `WalSource` on a database file with the runtime's SQLite driver and node:fs. */
export async function openWalSource(path: string, o: OpenWalSourceOptions = {}): Promise<WalSource> {
  const { open, metaPath, ...rest } = o;
  return WalSource.open({ ...rest, path, open: open ?? (await openSqlite()), files: nodeFileAccess, local: localReplica(metaPath ?? defaultMetaPath(path)) });
}
