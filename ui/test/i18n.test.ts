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
});
