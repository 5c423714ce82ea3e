/**
 * The worker thread of `replicate(…, { worker: true })`: runs `replicate()` with its own SQLite
 * connections, answers sync/tick/close and relays the events the application listens for, each
 * with the status after it. Until the application's thread says which types it listens for (a
 * turn after the start) every event is relayed; afterwards an event nobody listens for only
 * schedules a status message, at most one each STATUS_EVERY ms, so status() stays fresh without a
 * message per capture and upload.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { ReplicatorEventType } from "../replica/replicator.ts";
import { detailToWire, statusToWire, toWire, type FromWorker, type ToWorker, type WorkerStart } from "./replicate-wire.ts";
import { replicate, type ReplicationHandle } from "./replicate.ts";

const EVENT_TYPES: ReplicatorEventType[] = ["sync", "upload", "error", "snapshot", "compact", "lease"];
const STATUS_EVERY = 100;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error("replicate-worker runs as a worker thread of replicate({ worker: true })");
  const post = (m: FromWorker) => port.postMessage(m);
  // Lets the thread end by itself (Deno's parentPort has no close(): the application's side terminates it).
  const done = () => (port as { close?: () => void }).close?.();
  const start = workerData as WorkerStart;
  let h: ReplicationHandle;
  try {
    h = await replicate(start.db, start.replicas, start.options);
  } catch (e) {
    post({ kind: "failed", error: toWire(e) });
    done();
    return;
  }
  let wanted: Set<ReplicatorEventType> | undefined; // undefined: not told yet, relay everything
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const postStatus = () => {
    statusTimer = undefined;
    post({ kind: "status", status: statusToWire(h.status()) });
  };
  for (const type of EVENT_TYPES) {
    h.addEventListener(type, (e) => {
      if (!wanted || wanted.has(type)) post({ kind: "event", type, detail: detailToWire(e.detail), status: statusToWire(h.status()) });
      else statusTimer ??= setTimeout(postStatus, STATUS_EVERY);
    });
  }
  port.on("message", (m: ToWorker) => {
    if (m.op === "listen") {
      wanted ??= new Set();
      for (const t of m.types) wanted.add(t);
      return;
    }
    if (m.op === "close") clearTimeout(statusTimer);
    const reply = (p: Promise<bigint | void>, last = false) =>
      p.then(
        (v) => post({ kind: "reply", id: m.id, ...(typeof v === "bigint" ? { value: v } : {}), status: statusToWire(h.status()) }),
        (e: unknown) => post({ kind: "reply", id: m.id, error: toWire(e), status: statusToWire(h.status()) }),
      ).finally(() => {
        if (last) done();
      });
    if (m.op === "sync") void reply(h.sync(m.timeout === undefined ? {} : { timeout: m.timeout }));
    else if (m.op === "tick") void reply(h.tick());
    else void reply(h.close(), true);
  });
  post({ kind: "ready", status: statusToWire(h.status()) });
}

await main();
