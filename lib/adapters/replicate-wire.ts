/**
 * The messages between `replicate(…, { worker: true })` and its worker thread. Errors cross as
 * their code and message (an LtxError does not survive structured cloning as one); statuses and
 * event details cross as data, with their errors converted.
 */
import { isLtxError, LtxError, type ErrorCode } from "../errors.ts";
import type { ReplicatorEventDetail, ReplicatorEventType, ReplicatorStatus } from "../replica/replicator.ts";

/** An error as it crosses the thread boundary. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/** A status as it crosses: the errors as WireErrors, and when it was taken (ms epoch). */
export interface WireStatus {
  at: number;
  status: unknown;
}

/** A call of the application's thread on the worker. */
export type WorkerCall = { op: "sync"; timeout?: number } | { op: "tick" } | { op: "close" };

/**
 * What the application's thread sends to the worker: a call and its id, or the event types it has
 * listeners for (`listen`, first sent a turn after the start, then each time a type is added).
 */
export type ToWorker = (WorkerCall & { id: number }) | { op: "listen"; types: ReplicatorEventType[] };

/** What the worker sends back. */
export type FromWorker =
  | { kind: "ready"; status: WireStatus }
  | { kind: "failed"; error: WireError }
  | { kind: "reply"; id: number; value?: bigint; error?: WireError; status: WireStatus }
  | { kind: "event"; type: ReplicatorEventType; detail: unknown; status: WireStatus }
  | { kind: "status"; status: WireStatus };

/** What the worker is started with (its workerData). */
export interface WorkerStart {
  db: string;
  replicas: string[];
  options: Record<string, unknown>;
}

export function toWire(e: unknown): WireError {
  if (isLtxError(e)) return { code: e.code, message: e.message };
  return { code: "IO_ERROR", message: e instanceof Error ? e.message : String(e) };
}

export function fromWire(w: WireError): LtxError {
  return new LtxError(w.code, w.message);
}

/** Replaces every `error` / `lastError` field holding an LtxError, one level deep and in `replicas`. */
function mapErrors(o: Record<string, unknown>, f: (e: never) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ...o };
  for (const k of ["error", "lastError"]) if (out[k] !== undefined) out[k] = f(out[k] as never);
  if (Array.isArray(out.replicas)) out.replicas = out.replicas.map((r: Record<string, unknown>) => mapErrors(r, f));
  return out;
}

export function statusToWire(s: ReplicatorStatus): WireStatus {
  return { at: Date.now(), status: mapErrors(s as unknown as Record<string, unknown>, toWire) };
}

/** The status as last sent, its lag grown by the time since (the oldest unshipped TXID kept waiting). */
export function statusFromWire(w: WireStatus, now: number): ReplicatorStatus {
  const s = mapErrors(w.status as Record<string, unknown>, fromWire) as unknown as ReplicatorStatus;
  if (s.lagMs > 0) s.lagMs += Math.max(0, now - w.at);
  return s;
}

export function detailToWire<T extends ReplicatorEventType>(d: ReplicatorEventDetail[T]): unknown {
  return mapErrors(d as unknown as Record<string, unknown>, toWire);
}

export function detailFromWire<T extends ReplicatorEventType>(d: unknown): ReplicatorEventDetail[T] {
  return mapErrors(d as Record<string, unknown>, fromWire) as unknown as ReplicatorEventDetail[T];
}
