import { describe, expect, it } from "vitest";
import { Api } from "../src/api";
import { more } from "../src/api_more";

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("returns, members, reports, devices and sync calls", () => {
  it("sends what the terminal expects", async () => {
    const calls: [string, string, unknown][] = [];
    const api = new Api("/api/v1", (url, init) => {
      calls.push([init?.method ?? "GET", url, init?.body ? JSON.parse(String(init.body)) : undefined]);
      return Promise.resolve(json(200, {}));
    });
    const mx = more(api);
    await mx.findSale("RCHZ001-T01-00000001");
    await mx.returnLines("HZ001-T01-00000001", [{ line_id: 1, qty: "1" }], "req-1");
    await mx.members("138 1234");
    await mx.attachMember("c/1", "M000001");
    await mx.parked();
    await mx.park("c1", "bag");
    await mx.printZ(3, "en");
    await mx.saveDevices("[printer]\n");
    await mx.nextScan(5000);
    await mx.syncNow();
    await mx.wallet("M000001", "c1");
    await mx.pointsTender("c1", 500);
    await mx.pointsTender("c1");
    expect(calls).toEqual([
      ["GET", "/api/v1/sales/RCHZ001-T01-00000001", undefined],
      ["POST", "/api/v1/returns", { receipt: "HZ001-T01-00000001", lines: [{ line_id: 1, qty: "1" }], request_id: "req-1" }],
      ["GET", "/api/v1/members?q=138%201234&limit=10", undefined],
      ["POST", "/api/v1/carts/c%2F1/member", { member_id: "M000001" }],
      ["GET", "/api/v1/carts?status=parked", undefined],
      ["POST", "/api/v1/carts/c1/park", { label: "bag" }],
      ["POST", "/api/v1/reports/z/3/print?lang=en", undefined],
      ["PUT", "/api/v1/devices/config", { toml: "[printer]\n" }],
      ["GET", "/api/v1/devices/scanner/next?timeout_ms=5000", undefined],
      ["POST", "/api/v1/sync", undefined],
      ["GET", "/api/v1/members/M000001/coupons?cart=c1", undefined],
      ["POST", "/api/v1/carts/c1/tenders", { kind: "points", points: 500 }],
      ["POST", "/api/v1/carts/c1/tenders", { kind: "points" }],
    ]);
  });
  it("maps the terminal's refusals to coded errors", async () => {
    const api = new Api("/api/v1", () => Promise.resolve(json(409, { error: { code: "not_enrolled", message: "run tillstone sync enroll" } })));
    await expect(more(api).syncNow()).rejects.toMatchObject({ code: "not_enrolled", status: 409 });
  });
});
