/** Shared pieces of the codec commands (dump, verify, encode-db, checksum). */
import { promises as fsp } from "node:fs";
import { sqlitePageSize } from "../capture/page-diff.ts";
import { LtxError } from "../errors.ts";

/** SHA-256 of bytes as lowercase hex (WebCrypto). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Page size and page count from a SQLite file's header (bytes 16-17, 1 = 65536; 28-31). */
export async function sqliteGeometry(path: string): Promise<{ pageSize: number; commit: number; fileSize: number }> {
  let fh;
  try {
    fh = await fsp.open(path, "r");
  } catch (e) {
    throw new LtxError("IO_ERROR", `open ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const b = new Uint8Array(100);
    const { bytesRead } = await fh.read(b, 0, 100, 0);
    const st = await fh.stat();
    if (bytesRead < 100 || new TextDecoder().decode(b.subarray(0, 16)) !== "SQLite format 3\0") {
      throw new LtxError("INVALID_ARGUMENT", `${path}: not a SQLite database`);
    }
    let pageSize: number;
    try {
      pageSize = sqlitePageSize(b);
    } catch (e) {
      throw (e as LtxError).wrap(path);
    }
    const commit = ((b[28]! << 24) | (b[29]! << 16) | (b[30]! << 8) | b[31]!) >>> 0;
    return { pageSize, commit: commit || Math.floor(st.size / pageSize), fileSize: st.size };
  } finally {
    await fh.close();
  }
}

/** Reads a SQLite file page by page (one reused buffer). */
export async function* readPages(path: string, pageSize: number, count: number): AsyncGenerator<{ pgno: number; data: Uint8Array }> {
  const fh = await fsp.open(path, "r");
  try {
    const batch = Math.max(1, Math.floor((1 << 20) / pageSize));
    const buf = new Uint8Array(batch * pageSize);
    for (let p = 1; p <= count; p += batch) {
      const n = Math.min(batch, count - p + 1);
      const { bytesRead } = await fh.read(buf, 0, n * pageSize, (p - 1) * pageSize);
      if (bytesRead < n * pageSize) throw new LtxError("UNEXPECTED_EOF", `${path}: file shorter than ${count} pages`);
      for (let i = 0; i < n; i++) yield { pgno: p + i, data: buf.subarray(i * pageSize, (i + 1) * pageSize) };
    }
  } finally {
    await fh.close();
  }
}
