import { describe, expect, it } from "vitest";
import { milli, returnLines, returnQtyError, returnRows, stepQty } from "../src/returns";
import type { SaleLine } from "../src/returns";

function line(id: number, qty: string, unit = "piece", voided = false): SaleLine {
  return {
    line: { line_id: id, sku: `S${id}`, name: `商品${id}`, name_en: `Item ${id}`, qty, unit, voided },
    amounts: { total: "10.00" },
    unit_price: "5.00",
  };
}

describe("returns by receipt", () => {
  const lines = [line(1, "4"), line(2, "0.450", "kg"), line(3, "1", "piece", true), line(4, "2")];
  const rows = returnRows(lines, { "1": "3", "2": "0.450", "3": "1", "4": "0" });

  it("lists the lines that can still come back, voided and fully returned ones left out", () => {
    expect(rows.map((r) => [r.line_id, r.max])).toEqual([
      [1, "3"],
      [2, "0.450"],
    ]);
    expect(rows[0]).toMatchObject({ name: "商品1", name_en: "Item 1", sold: "4", unit: "piece" });
  });
  it("reads quantities in thousandths, refusing negatives and 4 decimals", () => {
    expect(milli("1.5")).toBe(1500n);
    expect(milli("0.450")).toBe(450n);
    expect(milli("-1")).toBeNull();
    expect(milli("1.0001")).toBeNull();
    expect(milli("abc")).toBeNull();
  });
  it("validates a quantity against what can be returned", () => {
    expect(returnQtyError("", rows[0])).toBeNull();
    expect(returnQtyError("0", rows[0])).toBeNull();
    expect(returnQtyError("3", rows[0])).toBeNull();
    expect(returnQtyError("4", rows[0])).toBe("ret_qty_too_many");
    expect(returnQtyError("1.5", rows[0])).toBe("ret_qty_whole");
    expect(returnQtyError("x", rows[0])).toBe("ret_qty_invalid");
    expect(returnQtyError("0.2", rows[1])).toBeNull();
    expect(returnQtyError("0.451", rows[1])).toBe("ret_qty_too_many");
  });
  it("builds the request only when every quantity is valid and one is above zero", () => {
    expect(returnLines(rows, {})).toBeNull();
    expect(returnLines(rows, { 1: "0", 2: "" })).toBeNull();
    expect(returnLines(rows, { 1: "9" })).toBeNull();
    expect(returnLines(rows, { 1: "2", 2: "0.2" })).toEqual([
      { line_id: 1, qty: "2" },
      { line_id: 2, qty: "0.2" },
    ]);
    expect(returnLines(rows, { 1: "1", 2: "1" })).toBeNull();
  });
  it("steps a quantity within 0..max", () => {
    expect(stepQty("", 1, "3")).toBe("1");
    expect(stepQty("3", 1, "3")).toBe("3");
    expect(stepQty("1", -1, "3")).toBe("");
    expect(stepQty("", -1, "3")).toBe("");
    expect(stepQty("1.5", 1, "3")).toBe("2.5");
  });
});
