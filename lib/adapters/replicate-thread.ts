/**
 * `replicate(db, url, { worker: true })`: the same replication run in a worker thread with its own
 * SQLite connections, so the WAL scan, the L0 encode, the checkpoint calls and the uploads never
 * take the application's thread. The handle forwards sync/tick/close as messages; status() is the
 * newest status the worker sent (with each event and reply, and at most every 100 ms while events
 * nobody listens for happen), its lag grown by the time since.
 */
import { Worker } from "node:worker_threads";
import { LtxError } from "../errors.ts";
import { ReplicatorEvent, type ReplicatorEventType, type ReplicatorStatus } from "../replica/replicator.ts";
import { detailFromWire, fromWire, statusFromWire, type FromWorker, type ToWorker, type WireStatus, type WorkerCall, type WorkerStart } from "./replicate-wire.ts";
import type { ReplicationHandle } from "./replicate.ts";

/** The worker module beside this one (`.ts` when running from source under Bun or Deno). */
function workerUrl(): URL {
  return new URL(import.meta.url.endsWith(".ts") ? "./replicate-worker.ts" : "./replicate-worker.js", import.meta.url);
}

interface Pending {
  resolve: (v: bigint | undefined) => void;
  reject: (e: LtxError) => void;
}

/** The application thread's side of a replication running in a worker thread. */
class WorkerReplication extends EventTarget implements ReplicationHandle {
  #w: Worker;
  #status: WireStatus;
  #pending = new Map<number, Pending>();
  #next = 1;
  #dead: LtxError | undefined;
  #closing: Promise<void> | undefined;
  #exited: Promise<void>;
  /** Event types listeners were added for (removals are not tracked: at worst an event nobody hears). */
  #types = new Set<ReplicatorEventType>();
  /** The worker was sent the types: from then on each new type is sent as it is added. */
  #told = false;

  constructor(w: Worker, status: WireStatus) {
    super();
    this.#w = w;
    this.#status = status;
    // The worker relays every event until told which types are listened for: a turn from now, so
    // the listeners added just after replicate() resolved hear its first events.
    setTimeout(() => {
      this.#told = true;
      this.#listen([...this.#types]);
    }, 0);
    this.#exited = new Promise((r) => w.once("exit", () => r()));
    w.on("message", (m: FromWorker) => this.#message(m));
    w.on("error", (e: Error) => this.#die(new LtxError("IO_ERROR", `replication worker failed: ${e.message}`, { cause: e })));
    w.on("exit", (code: number) => this.#die(new LtxError("IO_ERROR", `replication worker exited (code ${code})`)));
  }

  #message(m: FromWorker): void {
    if (m.kind === "reply") {
      this.#status = m.status;
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (m.error) p?.reject(fromWire(m.error));
      else p?.resolve(m.value);
    } else if (m.kind === "event") {
      this.#status = m.status;
      this.dispatchEvent(new ReplicatorEvent(m.type, detailFromWire(m.detail)));
    } else if (m.kind === "status") {
      this.#status = m.status;
    }
  }

  /** The worker is gone: every call waiting for it fails, and so does every later one. */
  #die(e: LtxError): void {
    if (this.#dead) return;
    this.#dead = e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
    if (this.#closing) return; // an exit after close() is the expected end
    this.dispatchEvent(new ReplicatorEvent("error", { error: e }));
  }

  #call(m: WorkerCall): Promise<bigint | undefined> {
    if (this.#closing && m.op !== "close") return Promise.reject(new LtxError("INVALID_STATE", "replication is closed"));
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#w.postMessage({ ...m, id } as ToWorker);
    });
  }

  async sync(options: { timeout?: number } = {}): Promise<bigint> {
    const v = await this.#call(options.timeout === undefined ? { op: "sync" } : { op: "sync", timeout: options.timeout });
    return v ?? 0n;
  }

  async tick(): Promise<void> {
    await this.#call({ op: "tick" });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (!this.#dead) await this.#call({ op: "close" });
        else throw this.#dead; // it died before close(): what it had not shipped is in the local L0 files
      } finally {
        await this.#w.terminate(); // everything is shipped and closed: nothing left to cut short
        await this.#exited;
      }
    })();
    return this.#closing;
  }

  status(): ReplicatorStatus {
    const s = statusFromWire(this.#status, Date.now());
    if (this.#dead && !this.#closing) s.lastError = this.#dead;
    return s;
  }

  override addEventListener<T extends ReplicatorEventType>(type: T, listener: ((e: ReplicatorEvent<T>) => void) | EventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    super.addEventListener(type, listener as EventListener, options);
    if (this.#types.has(type)) return;
    this.#types.add(type);
    if (this.#told) this.#listen([type]);
  }

  #listen(types: ReplicatorEventType[]): void {
    if (this.#dead || this.#closing) return;
    this.#w.postMessage({ op: "listen", types } satisfies ToWorker);
  }
}

/** Starts a replication in a worker thread; resolves once it runs (its first sync is the worker's). */
export function replicateInWorker(start: WorkerStart): Promise<ReplicationHandle> {
  return new Promise((resolve, reject) => {
    let w: Worker;
    try {
      w = new Worker(workerUrl(), { workerData: start });
    } catch (e) {
      // An option that structured cloning refuses (DataCloneError) is the caller's; anything else, the runtime's.
      const clone = (e as Error).name === "DataCloneError";
      reject(new LtxError(clone ? "INVALID_ARGUMENT" : "UNSUPPORTED", clone ? `replicate with worker: true got an option that cannot cross to the worker thread: ${(e as Error).message}` : `cannot start a worker thread: ${(e as Error).message}`, { cause: e }));
      return;
    }
    let settled = false;
    const early = (e: LtxError) => {
      if (settled) return;
      settled = true;
      reject(e);
    };
    const onError = (e: Error) => early(new LtxError("IO_ERROR", `replication worker failed to start: ${e.message}`, { cause: e }));
    const onExit = (code: number) => early(new LtxError("IO_ERROR", `replication worker exited (code ${code}) before it started`));
    w.once("error", onError);
    w.once("exit", onExit);
    w.once("message", (m: FromWorker) => {
      w.off("error", onError);
      w.off("exit", onExit);
      if (m.kind === "ready") {
        settled = true;
        resolve(new WorkerReplication(w, m.status));
      } else {
        early(m.kind === "failed" ? fromWire(m.error) : new LtxError("INVALID_STATE", `replication worker sent ${m.kind} before it started`));
        w.on("error", () => {}); // it is rejected already
        void w.terminate();
      }
    });
  });
}
