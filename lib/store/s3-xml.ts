/** The few S3 XML shapes the S3 store reads, parsed without a DOM (Node and Deno have no DOMParser). */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

export function xmlDecode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ENTITIES[e]!,
  );
}

export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&${({ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" } as Record<string, string>)[c]};`);
}

/** Text of the first <tag>…</tag> in xml, decoded, or undefined. */
export function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlDecode(m[1]!) : undefined;
}

/** Raw inner XML of every <tag>…</tag>. */
export function blocks(xml: string, name: string): string[] {
  const re = new RegExp(`<${name}(?:\\s[^>]*)?>([\\s\\S]*?)</${name}>`, "g");
  const out: string[] = [];
  for (let m; (m = re.exec(xml)); ) out.push(m[1]!);
  return out;
}

export interface ListPage {
  objects: { key: string; size: number; etag: string; lastModified: Date }[];
  isTruncated: boolean;
  nextContinuationToken?: string;
}

export function parseListObjectsV2(xml: string): ListPage {
  const objects = blocks(xml, "Contents").map((b) => ({
    key: tag(b, "Key") ?? "",
    size: Number(tag(b, "Size") ?? "0"),
    etag: (tag(b, "ETag") ?? "").replace(/^"(.*)"$/, "$1"),
    lastModified: new Date(tag(b, "LastModified") ?? 0),
  }));
  const page: ListPage = { objects, isTruncated: tag(xml, "IsTruncated") === "true" };
  const tok = tag(xml, "NextContinuationToken");
  if (tok) page.nextContinuationToken = tok;
  return page;
}

export function parseError(xml: string): { code?: string; message?: string } {
  return { code: tag(xml, "Code"), message: tag(xml, "Message") };
}
