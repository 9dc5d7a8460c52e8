import { afterEach, describe, expect, it, vi } from "vitest";

// The only boundary mocked: Tauri's `invoke`.
const invokeMock = vi.fn();
vi.mock("@tauri-apps/api/core", () => ({ invoke: (...args: unknown[]) => invokeMock(...args) }));

import { Api, ApiError } from "../src/api";
import {
  apiPath,
  decodeDataUrl,
  defaultFetch,
  inTauri,
  reportReady,
  tauriFetch,
  type Invoke,
  type ShellResponse,
} from "../src/transport";

const TAURI_WINDOW = { __TAURI_INTERNALS__: {} };
// A 1×1 PNG.
const PNG_B64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

function ok(body: unknown, content_type = "application/json", status = 200): ShellResponse {
  return { status, content_type, body };
}

afterEach(() => {
  invokeMock.mockReset();
});

describe("transport selection", () => {
  it("detects the Tauri window by __TAURI_INTERNALS__", () => {
    expect(inTauri(TAURI_WINDOW)).toBe(true);
    expect(inTauri({})).toBe(false);
    expect(inTauri(null)).toBe(false);
    expect(inTauri()).toBe(false); // vitest runs in node
  });

  it("uses fetch outside Tauri and never invokes", async () => {
    const fetchSpy = vi.spyOn(globalThis, "fetch").mockResolvedValue(new Response("[]", { status: 200 }));
    try {
      const res = await defaultFetch({})("/api/v1/users", { method: "GET" });
      expect(await res.json()).toEqual([]);
      expect(fetchSpy).toHaveBeenCalledWith("/api/v1/users", { method: "GET" });
      expect(invokeMock).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it("uses the shell's api command inside Tauri (the real @tauri-apps/api import)", async () => {
    invokeMock.mockResolvedValue(ok([{ user_id: "1001", name: "A", role: "cashier" }]));
    const api = new Api("/api/v1", defaultFetch(TAURI_WINDOW));
    const users = await api.users();
    expect(users[0].user_id).toBe("1001");
    expect(invokeMock).toHaveBeenCalledWith("api", { method: "GET", path: "/users", body: null, token: null });
  });
});

describe("tauriFetch", () => {
  it("maps path, method, JSON body and bearer token to the command's arguments", async () => {
    const invoke = vi.fn().mockResolvedValueOnce(ok({ token: "tok", user: { user_id: "1001" } }));
    invoke.mockResolvedValueOnce(ok({ outcome: "not_found", code: "123", message: "unknown" }));
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    await api.login("1001", "1111");
    const r = await api.scan("c 1", "123");
    expect(r.outcome).toBe("not_found");
    expect(invoke).toHaveBeenNthCalledWith(1, "api", {
      method: "POST",
      path: "/login",
      body: { user_id: "1001", pin: "1111" },
      token: null,
    });
    expect(invoke).toHaveBeenNthCalledWith(2, "api", {
      method: "POST",
      path: "/carts/c%201/scan",
      body: { code: "123" },
      token: "tok",
    });
  });

  it("keeps the query string and strips only the API base", () => {
    expect(apiPath("/api/v1/products?q=%E7%89%9B&limit=20")).toBe("/products?q=%E7%89%9B&limit=20");
    expect(apiPath("/api/v1")).toBe("/");
    expect(apiPath("http://127.0.0.1:8787/api/v1/health")).toBe("/health");
    expect(apiPath("/api/v10/x")).toBe("/api/v10/x");
  });

  it("turns the shell's error into the API's ApiError with code and status", async () => {
    const invoke = vi.fn().mockRejectedValue({ kind: "unauthorized", code: "bad_pin", message: "wrong PIN", status: 401 });
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    const e = await api.login("1001", "0000").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ code: "bad_pin", message: "wrong PIN", status: 401 });
  });

  it("calls onUnauthorized when a signed-in session ends (401 from the shell)", async () => {
    const invoke = vi.fn().mockRejectedValue({ kind: "unauthorized", code: "session_expired", message: "m", status: 401 });
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    api.token = "old";
    const onUnauthorized = vi.fn();
    api.onUnauthorized = onUnauthorized;
    await expect(api.shift()).rejects.toMatchObject({ code: "session_expired" });
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it("maps a failing invoke (no such command, shell gone) to the network error", async () => {
    const invoke = vi.fn().mockRejectedValue("command api not found");
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    await expect(api.users()).rejects.toMatchObject({ code: "network", status: 0, message: "command api not found" });
  });

  it("gives the receipt preview PNG (a data URL from the shell) back as an image blob", async () => {
    const invoke = vi.fn().mockResolvedValue(ok(`data:image/png;base64,${PNG_B64}`, "image/png"));
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    const blob = await api.previewPng("R0001", "en");
    expect(blob.type).toBe("image/png");
    const bytes = new Uint8Array(await blob.arrayBuffer());
    expect([...bytes.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(invoke.mock.calls[0][1]).toMatchObject({ method: "GET", path: "/sales/R0001/preview.png?lang=en" });
  });

  it("answers an empty body as undefined", async () => {
    const invoke = vi.fn().mockResolvedValue(ok(null, "", 204));
    const api = new Api("/api/v1", tauriFetch(invoke as unknown as Invoke));
    await expect(api.voidCart("c1")).resolves.toBeUndefined();
  });

  it("refuses a non-JSON request body instead of sending garbage", async () => {
    const invoke = vi.fn();
    const f = tauriFetch(invoke as unknown as Invoke);
    await expect(f("/api/v1/x", { method: "POST", body: "not json" })).rejects.toThrow(/JSON/);
    expect(invoke).not.toHaveBeenCalled();
  });

  it("decodes base64 and percent-encoded data URLs", () => {
    expect(decodeDataUrl("data:text/plain,a%20b")).toMatchObject({ type: "text/plain" });
    expect(new TextDecoder().decode(decodeDataUrl("data:text/plain,a%20b")?.bytes)).toBe("a b");
    expect(decodeDataUrl("not a data url")).toBeNull();
  });
});

describe("reportReady", () => {
  it("invokes ui_ready once, when the selector is on the page", () => {
    const invoke = vi.fn().mockResolvedValue(123);
    let present = false;
    const doc = { querySelector: () => (present ? {} : null), documentElement: {} } as unknown as Document;
    const observers: (() => void)[] = [];
    vi.stubGlobal(
      "MutationObserver",
      class {
        constructor(cb: () => void) {
          observers.push(cb);
        }
        observe() {}
        disconnect() {}
      },
    );
    try {
      reportReady(doc, invoke as unknown as Invoke, "[data-user]", (cb) => cb());
      expect(invoke).not.toHaveBeenCalled();
      present = true;
      observers[0]();
      observers[0]();
      expect(invoke).toHaveBeenCalledTimes(1);
      expect(invoke).toHaveBeenCalledWith("ui_ready");
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
