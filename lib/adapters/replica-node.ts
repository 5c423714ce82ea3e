/** Opens replica URLs with the file store and the process environment (Node, Bun and Deno). */
import process from "node:process";
import { openReplica, type OpenReplicaOptions, type Replica } from "../replica/url.ts";
import { FsStore } from "./fs-store.ts";

export function openReplicaFromEnv(url: string, opts: Omit<OpenReplicaOptions, "env" | "fileStore"> = {}): Replica {
  return openReplica(url, { ...opts, env: process.env, fileStore: (dir) => new FsStore(dir) });
}
