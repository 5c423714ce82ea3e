/**
 * Restore output to a file: pages go to `.<name>.ltxkit-tmp-*` next to the target in 1 MiB writes;
 * commit fsyncs, renames (never over an existing file unless `force`) and fsyncs the directory;
 * abort removes the temp file. A failed or interrupted restore leaves no output in place.
 */
import { promises as fsp } from "node:fs";
import { LtxError } from "../errors.ts";
import type { PageSink } from "../replica/sinks.ts";
import { AtomicFile, exists, fsError } from "./fs-file.ts";

/** A restore target file: pages go to a temp file that becomes the output only on commit (fsync, rename). */
export class FileSink implements PageSink {
  readonly path: string;
  readonly force: boolean;
  #file: AtomicFile | null = null;
  #buf = new Uint8Array(0);
  #used = 0;
  #pos = 0;

  constructor(path: string, opts: { force?: boolean } = {}) {
    this.path = path;
    this.force = opts.force ?? false;
  }

  async open(pageSize: number, _commit: number): Promise<void> {
    if (!this.force && (await exists(this.path))) throw new LtxError("OUTPUT_EXISTS", `output already exists: ${this.path} (use -force to replace it)`);
    this.#file = await AtomicFile.create(this.path);
    this.#buf = new Uint8Array(Math.max(pageSize, 1 << 20));
  }

  async write(_pgno: number, data: Uint8Array): Promise<void> {
    if (this.#used + data.length > this.#buf.length) await this.#flush();
    this.#buf.set(data, this.#used);
    this.#used += data.length;
  }

  async #flush(): Promise<void> {
    if (!this.#used) return;
    await this.#file!.writeAt(this.#buf.subarray(0, this.#used), this.#pos);
    this.#pos += this.#used;
    this.#used = 0;
  }

  async commit(): Promise<void> {
    await this.#flush();
    if (this.force) {
      for (const ext of ["-wal", "-shm", "-journal"]) {
        await fsp.rm(this.path + ext, { force: true }).catch((e: unknown) => {
          throw fsError("remove", this.path + ext, e);
        });
      }
    }
    await this.#file!.commit({ exclusive: !this.force });
    this.#file = null;
  }

  async abort(): Promise<void> {
    await this.#file?.abort();
    this.#file = null;
  }
}
