import { describe, expect, it } from "vitest";
import { WedgeDetector } from "../src/wedge";

/** Feed keys at the given gaps (ms) starting at t0; returns the decisions. */
function feed(d: WedgeDetector, keys: string[], gap: number, t0 = 1000) {
  return keys.map((k, i) => d.key(k, t0 + i * gap));
}

describe("WedgeDetector", () => {
  it("turns a fast burst ending with Enter into one scan", () => {
    const d = new WedgeDetector();
    const out = feed(d, [..."6972287967632", "Enter"], 8);
    expect(out.slice(0, -1).every((x) => x.kind === "hold")).toBe(true);
    expect(out[out.length - 1]).toEqual({ kind: "scan", code: "6972287967632" });
    expect(d.pending).toBe(false);
  });

  it("lets slow (human) typing through, key by key", () => {
    const d = new WedgeDetector();
    const out = feed(d, ["1", "2", "3", "4", "5", "Enter"], 120);
    expect(out[0]).toEqual({ kind: "hold", release: "" });
    expect(out[1]).toEqual({ kind: "hold", release: "1" });
    expect(out[4]).toEqual({ kind: "hold", release: "4" });
    expect(out[5]).toEqual({ kind: "pass", release: "5" });
  });

  it("uses a strict 35 ms gap by default", () => {
    const fast = new WedgeDetector();
    expect(feed(fast, [..."12345", "Enter"], 34).pop()).toEqual({ kind: "scan", code: "12345" });
    const slow = new WedgeDetector();
    expect(feed(slow, [..."12345", "Enter"], 35).pop()?.kind).toBe("pass");
  });

  it("needs a minimum length so a fast double key + Enter is not a scan", () => {
    const d = new WedgeDetector();
    expect(feed(d, ["1", "2", "Enter"], 5).pop()).toEqual({ kind: "pass", release: "12" });
  });

  it("a slow Enter after a fast burst is not a scan (the keys are released)", () => {
    const d = new WedgeDetector();
    feed(d, [..."4006381333931"], 5);
    expect(d.key("Enter", 1000 + 12 * 5 + 200)).toEqual({ kind: "pass", release: "4006381333931" });
  });

  it("releases held keys when the hold timer fires after the gap", () => {
    const d = new WedgeDetector();
    d.key("a", 0);
    expect(d.tick(20)).toBe("");
    expect(d.tick(35)).toBe("a");
    expect(d.pending).toBe(false);
  });

  it("separates a person's key from a scan that starts right after it", () => {
    const d = new WedgeDetector();
    d.key("x", 0);
    const out = feed(d, [..."12345678", "Enter"], 6, 500);
    expect(out[0]).toEqual({ kind: "hold", release: "x" });
    expect(out.pop()).toEqual({ kind: "scan", code: "12345678" });
  });

  it("non-printable keys release and pass", () => {
    const d = new WedgeDetector();
    d.key("1", 0);
    expect(d.key("ArrowUp", 5)).toEqual({ kind: "pass", release: "1" });
  });

  it("honours custom options", () => {
    const d = new WedgeDetector({ maxGapMs: 50, minLength: 2 });
    expect(feed(d, ["1", "2", "Enter"], 45).pop()).toEqual({ kind: "scan", code: "12" });
  });
});
