// Base64 transport of bytes between Node and the page (evaluate and postMessage carry strings well).
export function b64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
export function unb64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
export function errorResult(e) {
  return { ok: false, name: e?.name ?? "Error", code: e?.code, message: String(e?.message ?? e) };
}
