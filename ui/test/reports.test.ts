import { describe, expect, it } from "vitest";
import { categorySeries, hourSeries, tenderMix, varianceTone } from "../src/reports";
import { formatDateTime, formatTime, hourLabel } from "../src/format";

describe("report charts", () => {
  it("fills the hours between the first and the last sale", () => {
    const s = hourSeries([
      { key: "09", count: 2, net: "30.50" },
      { key: "12", count: 1, net: "-5.00" },
      { key: "bad", count: 9, net: "1" },
    ]);
    expect(s.labels).toEqual(["09:00", "10:00", "11:00", "12:00"]);
    expect(s.values).toEqual([30.5, 0, 0, -5]);
    expect(s.counts).toEqual([2, 0, 0, 1]);
    expect(hourSeries([])).toEqual({ labels: [], values: [], counts: [] });
  });
  it("nets tenders (sales − refunds), largest first, without empty ones", () => {
    const s = tenderMix(
      [
        { kind: "card", count: 1, sales: "20.00", refunds: "5.00" },
        { kind: "cash", count: 2, sales: "35.84", refunds: "8.96" },
        { kind: "alipay", count: 1, sales: "10.00", refunds: "10.00" },
      ],
      (k) => k.toUpperCase(),
    );
    expect(s.labels).toEqual(["CASH", "CARD"]);
    expect(s.values).toEqual([26.88, 15]);
    expect(s.counts).toEqual([2, 1]);
  });
  it("keeps the top categories and sums the rest as other", () => {
    const s = categorySeries(
      [
        { key: "乳制品", count: 3, net: "41.88" },
        { key: "", count: 1, net: "2.00" },
        { key: "粮油", count: 2, net: "60.00" },
        { key: "饮料", count: 5, net: "12.10" },
      ],
      2,
      "其他",
      "未分类",
    );
    expect(s.labels).toEqual(["粮油", "乳制品", "其他"]);
    expect(s.values).toEqual([60, 41.88, 14.1]);
    expect(s.counts).toEqual([2, 3, 6]);
    expect(categorySeries([{ key: "", count: 1, net: "1" }], 5, "o", "未分类").labels).toEqual(["未分类"]);
  });
  it("tells a short, over or even drawer", () => {
    expect(varianceTone("-6.88")).toBe("short");
    expect(varianceTone("0.10")).toBe("over");
    expect(varianceTone("0.00")).toBe("even");
    expect(varianceTone(null)).toBeNull();
  });
});

describe("dates per locale", () => {
  const at = "2026-11-25T14:19:47Z";
  it("formats in Chinese and English in the given time zone", () => {
    expect(formatDateTime(at, "zh-CN", "Asia/Shanghai")).toBe("2026/11/25 22:19");
    expect(formatDateTime(at, "en", "Asia/Shanghai")).toBe("25 Nov 2026, 22:19");
    expect(formatTime(at, "en", "UTC")).toBe("14:19");
    // The store's fixed offset (minutes east of UTC), as /health reports it.
    expect(formatDateTime(at, "zh-CN", 480)).toBe("2026/11/25 22:19");
    expect(formatTime(at, "en", 330)).toBe("19:49");
    expect(formatTime(at, "en", -300)).toBe("09:19");
    expect(formatDateTime("2026-11-25T20:30:00Z", "zh-CN", 480)).toBe("2026/11/26 04:30");
  });
  it("leaves missing and unreadable dates alone", () => {
    expect(formatDateTime(null, "en")).toBe("");
    expect(formatDateTime("not a date", "zh-CN")).toBe("not a date");
    expect(hourLabel("7")).toBe("07:00");
  });
});
