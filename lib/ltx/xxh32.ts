/** xxHash32, for LZ4 frame header and content checksums. */

const P1 = 0x9e3779b1 | 0, P2 = 0x85ebca77 | 0, P3 = 0xc2b2ae3d | 0, P4 = 0x27d4eb2f | 0, P5 = 0x165667b1 | 0;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1);
}

function u32le(d: Uint8Array, i: number): number {
  return d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// One cached word view per buffer (pages are hashed from the same buffer again and again).
let viewBuf: ArrayBufferLike | null = null;
let view32: Int32Array<ArrayBufferLike> = new Int32Array(0);

/** The 16-byte stripes of data[0, n - n % 16) read as aligned words from view32 at word w. */
function stripes(v32: Int32Array<ArrayBufferLike>, w: number, words: number, seed: number): number {
  let v1 = (seed + P1 + P2) | 0, v2 = (seed + P2) | 0, v3 = seed | 0, v4 = (seed - P1) | 0;
  for (const end = w + words; w < end; w += 4) {
    v1 = round(v1, v32[w]!);
    v2 = round(v2, v32[w + 1]!);
    v3 = round(v3, v32[w + 2]!);
    v4 = round(v4, v32[w + 3]!);
  }
  return (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
}

/** xxh32 of data with a seed (default 0); an unsigned 32-bit result. */
export function xxh32(data: Uint8Array, seed = 0): number {
  const n = data.length;
  let i = 0;
  let h: number;
  if (n >= 64 && LITTLE_ENDIAN && (data.byteOffset & 3) === 0) {
    // Aligned: the stripes as words of a cached view (four byte loads per word otherwise).
    if (data.buffer !== viewBuf) {
      viewBuf = data.buffer;
      view32 = new Int32Array(data.buffer, 0, data.buffer.byteLength >>> 2);
    }
    const words = (n >>> 4) << 2;
    h = stripes(view32, data.byteOffset >>> 2, words, seed);
    i = words << 2;
  } else if (n >= 16) {
    let v1 = (seed + P1 + P2) | 0, v2 = (seed + P2) | 0, v3 = seed | 0, v4 = (seed - P1) | 0;
    const limit = n - 16;
    for (; i <= limit; i += 16) {
      v1 = round(v1, u32le(data, i));
      v2 = round(v2, u32le(data, i + 4));
      v3 = round(v3, u32le(data, i + 8));
      v4 = round(v4, u32le(data, i + 12));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + n) | 0;
  for (; i + 4 <= n; i += 4) h = Math.imul(rotl((h + Math.imul(u32le(data, i), P3)) | 0, 17), P4);
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(data[i]!, P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
