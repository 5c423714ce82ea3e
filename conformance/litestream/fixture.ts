/**
 * Loads the committed Go-written file replica: copies it to a temporary directory and sets each LTX
 * file's mtime to its header timestamp (bytes 32..39, big-endian ms), as Go's file replica client
 * does, since git keeps no file times.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "litestream-file-replica");

export function loadReplicaFixture(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "ltxkit-fixture-")), "replica");
  cpSync(join(FIXTURE, "replica"), dir, { recursive: true });
  for (const level of readdirSync(join(dir, "ltx"))) {
    for (const name of readdirSync(join(dir, "ltx", level))) {
      const p = join(dir, "ltx", level, name);
      const b = readFileSync(p);
      const ms = Number(b.readBigInt64BE(32));
      utimesSync(p, new Date(ms), new Date(ms));
    }
  }
  return dir;
}
