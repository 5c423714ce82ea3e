/**
 * Drives headless Chromium (playwright-core with the system's chromium) against pages served from a
 * Node server on 127.0.0.1: the built dist/, sqlite-wasm's browser build and the test pages of this
 * directory. Bare specifiers in served modules (aws4fetch, sqlite-wasm) are rewritten to served paths,
 * because module Workers have no import maps.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HERE = join(ROOT, "conformance", "browser");
export const CHROMIUM = process.env.LTXKIT_CHROMIUM ?? "/usr/bin/chromium";

function havePlaywright(): boolean {
  try {
    createRequire(import.meta.url).resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
}
export const haveBrowser = existsSync(CHROMIUM) && havePlaywright();
/** CI (LTXKIT_REQUIRE_BROWSER=1 or LTXKIT_REQUIRE_ALL=1) makes a missing browser a failure. */
export const requireBrowser = process.env.LTXKIT_REQUIRE_BROWSER === "1" || process.env.LTXKIT_REQUIRE_ALL === "1";
export const skipBrowser = !haveBrowser && !requireBrowser;
if (skipBrowser) console.warn(`SKIP: browser suites need chromium at ${CHROMIUM} and playwright-core (LTXKIT_REQUIRE_BROWSER=1 makes this a failure)`);

const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".wasm": "application/wasm", ".json": "application/json" };
const ROUTES: [string, string][] = [
  ["/dist/", join(ROOT, "dist")],
  ["/sqlite/", join(ROOT, "node_modules", "@sqlite.org", "sqlite-wasm", "dist")],
  ["/t/", HERE],
];
const REWRITE: [RegExp, string][] = [
  [/(from\s*|import\s*\(\s*)["']aws4fetch["']/g, '$1"/m/aws4fetch.js"'],
  [/(from\s*|import\s*\(\s*)["']@sqlite\.org\/sqlite-wasm["']/g, '$1"/sqlite/index.mjs"'],
];

function resolvePath(url: string): string | null {
  const path = decodeURIComponent(url.split("?")[0]!);
  if (path === "/" || path === "/index.html") return join(HERE, "page.html");
  if (path === "/m/aws4fetch.js") return join(ROOT, "node_modules", "aws4fetch", "dist", "aws4fetch.esm.mjs");
  for (const [prefix, dir] of ROUTES) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length)));
    return file.startsWith(dir) ? file : null;
  }
  return null;
}

/** Serves the pages on 127.0.0.1 (an ephemeral port: each suite its own origin, so its own OPFS). */
export async function serve(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const file = resolvePath(req.url ?? "/");
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[extname(file)] ?? "application/octet-stream";
    let body: Buffer | string = readFileSync(file);
    if (type === "text/javascript") {
      let text = body.toString("utf8");
      for (const [re, to] of REWRITE) text = text.replace(re, to);
      body = text;
    }
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, origin: `http://127.0.0.1:${port}` };
}

/** A browser with one page on the served origin, opened at page.html (which loads ltxkit/browser). */
export interface BrowserSession {
  origin: string;
  page: import("playwright-core").Page;
  /** Console lines and page errors, for failure messages. */
  log: string[];
  /** Reloads the page and waits until its modules are loaded again. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the browser on the served pages; `host` names the origin's host (default 127.0.0.1). */
export async function openBrowser(opts: { host?: string } = {}): Promise<BrowserSession> {
  const { chromium } = await import("playwright-core");
  const served = await serve();
  const { server } = served;
  const origin = opts.host ? served.origin.replace("127.0.0.1", opts.host) : served.origin;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
  const context = await browser.newContext();
  const page = await context.newPage();
  const log: string[] = [];
  page.on("console", (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
  const ready = async () => {
    await page.waitForFunction(() => (globalThis as { ltxReady?: unknown }).ltxReady !== undefined, null, { timeout: 30_000 });
    const r = await page.evaluate(() => (globalThis as { ltxReady?: unknown }).ltxReady);
    if (r !== true) throw new Error(`page failed to load: ${String(r)}\n${log.join("\n")}`);
  };
  await page.goto(origin + "/");
  await ready();
  return {
    origin,
    page,
    log,
    async reload() {
      await page.reload();
      await ready();
    },
    async close() {
      await browser.close().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Result of an RPC call into the page: a value, or an error's name, code and message. */
export type RpcResult = { ok: true; value: unknown } | { ok: false; name: string; code?: string; message: string };

/** Calls `globalThis.rpc[method](...args)` in the page (or in its worker for `worker.*`). */
export async function rpc(s: BrowserSession, method: string, ...args: unknown[]): Promise<unknown> {
  const r = (await s.page.evaluate(([m, a]) => (globalThis as unknown as { rpcCall(m: string, a: unknown[]): Promise<unknown> }).rpcCall(m as string, a as unknown[]), [method, args] as const)) as RpcResult;
  if (r.ok) return r.value;
  const e = new Error(r.message) as Error & { code?: string };
  e.name = r.name;
  if (r.code) e.code = r.code;
  throw e;
}

export const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));
