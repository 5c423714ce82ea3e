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

/** Bytes of one slab of allocBytes, and the largest array carved from one. */
const SLAB_BYTES = 256 << 10;
const SLAB_MAX = 32 << 10;
let slab: ArrayBuffer | null = null;
let slabAt = 0;

/**
 * A new zeroed array of `n` bytes. Small ones (≤ 32 KiB) are carved, 8-byte aligned, from a shared
 * 256 KiB slab, since an ArrayBuffer of its own costs microseconds to allocate (an L0 file of a few
 * pages on every sync); a slab stays in memory while any array carved from it does. Carved arrays
 * have a byteOffset: views over them take `byteOffset` into account.
 */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX) return new Uint8Array(n);
  if (slab === null || slabAt + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabAt = 0;
  }
  const b = new Uint8Array(slab, slabAt, n);
  slabAt += (n + 7) & ~7;
  return b;
}
