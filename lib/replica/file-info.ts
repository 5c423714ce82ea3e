/** The replica-level description of one LTX file, as Litestream's `ltx.FileInfo`. */
export interface FileInfo {
  level: number;
  minTXID: bigint;
  maxTXID: bigint;
  /** Object size in bytes. */
  size: number;
  /**
   * When the file was created: the LTX header timestamp where the store keeps it (file mtime,
   * S3 `litestream-timestamp` metadata), else the object's last-modified time.
   */
  createdAt: Date;
  /** The store key. */
  key: string;
}

/** Litestream's snapshot level. */
export const SNAPSHOT_LEVEL = 9;
/** The highest level restore scans (levels 0..8 plus the snapshot level). */
export const MAX_LEVEL = 9;

/** Orders by (minTXID, maxTXID), the listing order of every backend. */
export function compareFileInfo(a: FileInfo, b: FileInfo): number {
  if (a.minTXID !== b.minTXID) return a.minTXID < b.minTXID ? -1 : 1;
  if (a.maxTXID !== b.maxTXID) return a.maxTXID < b.maxTXID ? -1 : 1;
  return 0;
}

/** The newest file of a listing sorted oldest first (undefined when empty). */
export function last(files: readonly FileInfo[]): FileInfo | undefined {
  return files[files.length - 1];
}
