import { describe, expect, it, vi } from "vitest";
import { Api, ApiError, errorFromResponse, toApiError } from "../src/api";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("API client error mapping", () => {
  it("reads the API's error code and message", async () => {
    const e = await errorFromResponse(json(409, { error: { code: "over_tender", message: "too much" } }));
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe("over_tender");
    expect(e.message).toBe("too much");
    expect(e.status).toBe(409);
  });
  it("maps bodies without an error object by status", async () => {
    expect((await errorFromResponse(new Response("<html>oops</html>", { status: 502 }))).code).toBe("server_error");
    expect((await errorFromResponse(new Response("", { status: 401 }))).code).toBe("not_signed_in");
    expect((await errorFromResponse(json(418, { foo: 1 }))).code).toBe("http_418");
  });
  it("maps a failed fetch to network", async () => {
    const api = new Api("/api/v1", () => Promise.reject(new TypeError("Failed to fetch")));
    await expect(api.users()).rejects.toMatchObject({ code: "network", status: 0 });
    expect(toApiError("x").code).toBe("network");
  });
  it("sends the bearer token and JSON body, and parses the answer", async () => {
    const calls: [string, RequestInit | undefined][] = [];
    const api = new Api("/api/v1", (url, init) => {
      calls.push([url, init]);
      if (url.endsWith("/login")) return Promise.resolve(json(200, { token: "tok", user: { user_id: "1001", name: "A", role: "cashier" } }));
      return Promise.resolve(json(200, { outcome: "not_found", code: "123", message: "m" }));
    });
    await api.login("1001", "1111");
    const r = await api.scan("c1", "123");
    expect(r.outcome).toBe("not_found");
    const [url, init] = calls[1];
    expect(url).toBe("/api/v1/carts/c1/scan");
    expect((init?.headers as Record<string, string>).Authorization).toBe("Bearer tok");
    expect(JSON.parse(String(init?.body))).toEqual({ code: "123" });
  });
  it("calls onUnauthorized on 401 when signed in", async () => {
    const api = new Api("/api/v1", () => Promise.resolve(json(401, { error: { code: "not_signed_in", message: "sign in" } })));
    api.token = "old";
    const spy = vi.fn();
    api.onUnauthorized = spy;
    await expect(api.shift()).rejects.toMatchObject({ code: "not_signed_in" });
    expect(spy).toHaveBeenCalledOnce();
  });
  it("treats 204 as no content", async () => {
    const api = new Api("/api/v1", () => Promise.resolve(new Response(null, { status: 204 })));
    api.token = "t";
    await expect(api.logout()).resolves.toBeUndefined();
    expect(api.token).toBeNull();
  });
});
