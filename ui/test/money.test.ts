import { describe, expect, it } from "vitest";
import { addMoney, formatMoney, formatQty, formatRate, roundDecimal, toCents } from "../src/money";

describe("money formatting", () => {
  it("formats per locale with grouping and two decimals", () => {
    expect(formatMoney("1234.5", "zh-CN")).toBe("¥1,234.50");
    expect(formatMoney("1234.5", "en")).toBe("CN¥1,234.50");
    expect(formatMoney("0", "zh-CN")).toBe("¥0.00");
    expect(formatMoney("1000000", "en")).toBe("CN¥1,000,000.00");
  });
  it("formats negatives with the sign first", () => {
    expect(formatMoney("-5", "zh-CN")).toBe("-¥5.00");
    expect(formatMoney("-0.001", "en")).toBe("CN¥0.00");
  });
  it("rounds half away from zero without floating point", () => {
    expect(roundDecimal("1.005")).toBe("1.01");
    expect(roundDecimal("2.675")).toBe("2.68");
    expect(roundDecimal("-1.005")).toBe("-1.01");
    expect(roundDecimal("0.1", 3)).toBe("0.100");
    expect(formatMoney("9999999999999999.995", "zh-CN")).toBe("¥10,000,000,000,000,000.00");
  });
  it("leaves what is not a number alone", () => {
    expect(formatMoney("abc", "en")).toBe("abc");
    expect(formatMoney(null, "en")).toBe("");
  });
  it("formats quantities and rates", () => {
    expect(formatQty("2", "piece", "en")).toBe("2");
    expect(formatQty("2.000", "piece", "en")).toBe("2");
    expect(formatQty("0.45", "kg", "en")).toBe("0.450 kg");
    expect(formatQty("0.45", "kg", "zh-CN")).toBe("0.450 千克");
    expect(formatRate("0.09")).toBe("9%");
    expect(formatRate("0.13")).toBe("13%");
    expect(formatRate("0.065")).toBe("6.5%");
  });
  it("adds and compares amounts exactly", () => {
    expect(addMoney("0.1", "0.2")).toBe("0.30");
    expect(addMoney("100", "-100.01")).toBe("-0.01");
    expect(toCents("61.60")).toBe(6160n);
  });
});
