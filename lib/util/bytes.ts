/** Byte-array helpers shared by the codec and the stores. */

/** Joins byte arrays into one (`total` when the caller knows the sum); one part comes back as is. */
export function concat(parts: readonly Uint8Array[], total?: number): Uint8Array {
  const n = total ?? parts.reduce((s, p) => s + p.length, 0);
  if (parts.length === 1 && parts[0]!.length === n) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
