import { describe, expect, it } from "vitest";
import { dictionaries, errorMessage, hasKey, translate } from "../src/i18n";

describe("i18n", () => {
  it("looks keys up per language and fills placeholders", () => {
    expect(translate("en", "scan_added", { name: "Milk" })).toBe("Added Milk");
    expect(translate("zh-CN", "scan_added", { name: "牛奶" })).toBe("已添加 牛奶");
    expect(translate("en", "shift_no", { n: 3 })).toBe("Shift 3");
  });
  it("falls back to the key for unknown keys and keeps unknown placeholders", () => {
    expect(translate("zh-CN", "no_such_key")).toBe("no_such_key");
    expect(translate("en", "scan_added")).toBe("Added {name}");
  });
  it("has every English key in Chinese too", () => {
    const missing = Object.keys(dictionaries.en).filter((k) => !(k in dictionaries["zh-CN"]));
    expect(missing).toEqual([]);
    expect(hasKey("f4_pay")).toBe(true);
  });
  it("maps API error codes to clear messages", () => {
    expect(errorMessage("en", "wrong_pin", "wrong PIN")).toBe("Wrong PIN. Try again.");
    expect(errorMessage("zh-CN", "wrong_pin")).toBe("密码错误，请重试。");
    // unknown code: the server's sentence in English, a generic line with the code in Chinese
    expect(errorMessage("en", "brand_new_code", "something specific happened")).toBe("something specific happened");
    expect(errorMessage("zh-CN", "brand_new_code", "something")).toBe("操作未完成（brand_new_code）。");
    expect(errorMessage("en", "brand_new_code")).toBe("The request failed (brand_new_code).");
  });
  it("translates every code the new screens can meet", () => {
    const keys = [
      ...["gold", "silver", "standard"].map((x) => `tier_${x}`),
      ...["short", "over", "even"].map((x) => `variance_${x}`),
      ...["printer", "scanner", "scale", "display", "serial_adapter"].map((x) => `device_${x}`),
      ...["serial", "usb_serial", "usb_printer"].map((x) => `conn_${x}`),
      ...["gtin", "gs1", "weighed", "priced", "receipt", "code", "invalid"].map((x) => `scan_kind_${x}`),
      ...["ret_qty_invalid", "ret_qty_whole", "ret_qty_too_many"],
      ...[
        "not_enrolled", "return_exceeds_sale", "z_not_found", "no_printer", "no_display", "scale_unavailable",
        "scanner_unavailable", "invalid_devices_config", "member_not_found", "sale_voided", "coupon_already_used",
        "coupon_threshold_not_met", "coupon_bad_signature", "coupon_expired", "coupon_needs_member",
      ].map((c) => `err_${c}`),
    ];
    expect(keys.filter((k) => !hasKey(k))).toEqual([]);
    expect(Object.keys(dictionaries["zh-CN"]).filter((k) => !(k in dictionaries.en))).toEqual([]);
    expect(errorMessage("zh-CN", "no_printer")).toContain("打印机");
    expect(translate("en", "ret_qty_too_many", { max: "3" })).toBe("At most 3 can be returned.");
  });
});
