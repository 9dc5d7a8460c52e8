import { describe, expect, it } from "vitest";
import { AMOUNT, PIN, QTY, WHOLE, isPositive, numpadKey, padKeys } from "../src/numpad";

function type(keys: string[], opts = AMOUNT, start = ""): string {
  return keys.reduce((v, k) => numpadKey(v, k, opts), start);
}

describe("number pad", () => {
  it("types amounts with at most two decimals", () => {
    expect(type(["1", "2", ".", "5", "0"])).toBe("12.50");
    expect(type(["1", ".", "2", "3", "4"])).toBe("1.23");
    expect(type([".", "5"])).toBe("0.5");
    expect(type(["1", ".", "."])).toBe("1.");
  });
  it("replaces a lone leading zero and never starts with 00", () => {
    expect(type(["0", "7"])).toBe("7");
    expect(type(["00"])).toBe("");
    expect(type(["5", "00"])).toBe("500");
    expect(type(["0", "00"])).toBe("0");
    expect(type(["0", ".", "0", "5"])).toBe("0.05");
  });
  it("deletes, clears and ignores unknown keys", () => {
    expect(type(["1", "2", "⌫"])).toBe("1");
    expect(type(["1", "2", "C", "3"])).toBe("3");
    expect(type(["⌫"])).toBe("");
    expect(numpadKey("12", "x", AMOUNT)).toBe("12");
    expect(numpadKey("12", "Backspace", AMOUNT)).toBe("1");
  });
  it("keeps whole numbers whole and respects the length", () => {
    expect(type(["3", ".", "5"], WHOLE)).toBe("35");
    expect(type(["1", "2", "3", "4", "5", "6", "7"], WHOLE)).toBe("123456");
    expect(type(["1", ".", "2", "5", "6", "7"], QTY)).toBe("1.256");
  });
  it("keeps a PIN's leading zeros", () => {
    expect(type(["0", "0", "7", "1"], PIN)).toBe("0071");
    expect(type(["00", "1"], PIN)).toBe("001");
    expect(type([..."1234567890123"], PIN)).toBe("123456789012");
  });
  it("shows the decimal point only where decimals are allowed", () => {
    expect(padKeys(AMOUNT)).toContain(".");
    expect(padKeys(AMOUNT)).toHaveLength(14);
    expect(padKeys(WHOLE)).not.toContain(".");
    expect(padKeys(PIN)).toEqual(["7", "8", "9", "4", "5", "6", "1", "2", "3", "C", "0", "⌫"]);
  });
  it("tells a complete positive number", () => {
    expect(isPositive("12.5", AMOUNT)).toBe(true);
    expect(isPositive("0", AMOUNT)).toBe(false);
    expect(isPositive("0.00", AMOUNT)).toBe(false);
    expect(isPositive("3.", AMOUNT)).toBe(false);
    expect(isPositive("", AMOUNT)).toBe(false);
    expect(isPositive("1.5", WHOLE)).toBe(false);
    expect(isPositive("0.001", QTY)).toBe(true);
  });
});
