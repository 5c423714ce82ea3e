import { describe, it, expect } from "vitest";
import { formatRFC3339Nano } from "../../lib/ltx/txid.ts";

describe("formatRFC3339Nano", () => {
  it("prints Go's time.RFC3339Nano of millisecond times: trailing zeros of the fraction dropped, no fraction when zero", () => {
    // Expected strings as Go's t.UTC().Format(time.RFC3339Nano) prints them.
    expect(formatRFC3339Nano(0)).toBe("1970-01-01T00:00:00Z");
    expect(formatRFC3339Nano(1)).toBe("1970-01-01T00:00:00.001Z");
    expect(formatRFC3339Nano(10)).toBe("1970-01-01T00:00:00.01Z");
    expect(formatRFC3339Nano(100)).toBe("1970-01-01T00:00:00.1Z");
    expect(formatRFC3339Nano(123)).toBe("1970-01-01T00:00:00.123Z");
    expect(formatRFC3339Nano(1767323045120)).toBe("2026-01-02T03:04:05.12Z");
    expect(formatRFC3339Nano(1767323045000)).toBe("2026-01-02T03:04:05Z");
    expect(formatRFC3339Nano(-1)).toBe("1969-12-31T23:59:59.999Z");
    expect(formatRFC3339Nano(951782400000)).toBe("2000-02-29T00:00:00Z");
    expect(formatRFC3339Nano(951868799990)).toBe("2000-02-29T23:59:59.99Z");
    expect(formatRFC3339Nano(4107542400005)).toBe("2100-03-01T00:00:00.005Z");
    expect(formatRFC3339Nano(253402300799999)).toBe("9999-12-31T23:59:59.999Z");
  });
});
