// End-to-end, in order: sign in, open a shift, scan with wedge timing (also while a field has
// focus), change a quantity on the number pad, attach a member, apply a coupon, pay split (card +
// cash), complete and print to the virtual printer, return a line by scanning the receipt
// barcode, park and resume a sale, X report with charts (and print it), devices screen (test
// print, test-page preview, scanner test, devices.toml validation), sync screen, close the shift
// (Z report with charts). Plain node + playwright-core with the system Chromium.
//
//   TILLSTONE_URL=http://127.0.0.1:8799 [PRINTER_FILE=…/printer.bin] npm run e2e
//
// The UI is taken from TILLSTONE_URL itself when the terminal serves ui/dist at `/`; otherwise
// `vite preview` (with the /api proxy to TILLSTONE_URL) serves the built ui/dist. UI_URL overrides.
// CHROMIUM (default /usr/bin/chromium) is the browser binary. PRINTER_FILE is the file the
// terminal's virtual (file) printer writes to (e2e/run.sh sets one up); without it the printing
// checks only look at the UI.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, "..");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

const api = (process.env.TILLSTONE_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const BARCODE = process.env.E2E_BARCODE ?? "6972287967632";
const PRINTER_FILE = process.env.PRINTER_FILE ?? "";
let preview = null;
let passed = 0;
let failed = 0;

function step(name) {
  passed++;
  console.log(`ok ${passed} - ${name}`);
}

async function servesUi(url) {
  try {
    const r = await fetch(url + "/");
    return r.ok && (await r.text()).includes('id="app"');
  } catch {
    return false;
  }
}

async function waitFor(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await servesUi(url)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function uiUrl() {
  if (process.env.UI_URL) return process.env.UI_URL.replace(/\/$/, "");
  const health = await fetch(api + "/api/v1/health").catch(() => null);
  if (!health?.ok) throw new Error(`no tillstone API at ${api} (start: tillstone serve --data DIR --listen ... --init-demo)`);
  if (await servesUi(api)) return api;
  const port = process.env.PREVIEW_PORT ?? "4174";
  preview = spawn(join(uiDir, "node_modules", ".bin", "vite"), ["preview", "--port", port, "--strictPort", "--host", "127.0.0.1"], {
    cwd: uiDir,
    env: { ...process.env, TILLSTONE_URL: api },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  if (!(await waitFor(url, 15000))) throw new Error("vite preview did not start (run npm run build first)");
  return url;
}

/** Type like a keyboard-wedge scanner: keys a few ms apart, then Enter. */
async function wedgeScan(page, code) {
  for (const ch of code) {
    await page.keyboard.press(ch);
    await page.waitForTimeout(3);
  }
  await page.keyboard.press("Enter");
}

// ---- a demo coupon, signed like HQ does (core/src/coupon.rs, version 1; the demo store's key
// is terminal/src/setup.rs DEMO_COUPON_SECRET, DEMO ONLY).
function varint(n) {
  const out = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if (v === 0n) return [...out, b];
    out.push(b | 0x80);
  }
}
function base32(bytes) {
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let acc = 0;
  let bits = 0;
  let out = "";
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += A[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += A[(acc << (5 - bits)) & 31];
  return out;
}
function demoCoupon(campaign, serial) {
  const fields = Buffer.from([...varint(1), ...varint(campaign), ...varint(serial), 0]);
  const seed = Buffer.from("tillstone-demo-coupon-key-000001");
  const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  const sig = sign(null, Buffer.concat([Buffer.from("tillstone-coupon-v1\0"), fields]), key);
  return "TC1." + base32(Buffer.concat([fields, sig]));
}

async function waitImage(page, sel) {
  await page.waitForFunction(
    (s) => {
      const img = document.querySelector(s);
      return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
    },
    sel,
    { timeout: 15000 },
  );
}

function printerSize() {
  return PRINTER_FILE && existsSync(PRINTER_FILE) ? readFileSync(PRINTER_FILE).length : 0;
}

/** The virtual printer printed something more than `before` bytes. */
async function printedMore(before) {
  if (!PRINTER_FILE) return false;
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    if (printerSize() > before) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the virtual printer printed nothing");
}

/** The virtual printer's output contains `text` (ASCII). */
async function printed(text) {
  if (!PRINTER_FILE) return false;
  const end = Date.now() + 15000;
  while (Date.now() < end) {
    if (existsSync(PRINTER_FILE) && readFileSync(PRINTER_FILE).includes(Buffer.from(text))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the virtual printer did not print ${text}`);
}

async function signIn(page, user, pin) {
  await page.locator(`[data-user="${user}"]`).waitFor();
  await page.click(`[data-user="${user}"]`);
  for (const k of pin) await page.click(`.pinpad [data-key="${k}"]`);
  await page.click("#pin-ok");
}

/** No raw JSON or error codes on screen. */
async function noRawErrors(page, where) {
  const text = await page.textContent("#app");
  if (/\{"error"|"code":|\berr_[a-z_]+\b|http_\d{3}/.test(text ?? "")) throw new Error(`raw error text on ${where}: ${text}`);
}

const profile = mkdtempSync(join(tmpdir(), "tillstone-e2e-"));
let browser;
try {
  const base = await uiUrl();
  console.log(`# UI ${base}, API ${api}${PRINTER_FILE ? `, printer ${PRINTER_FILE}` : ""}`);
  // A fresh profile directory (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    viewport: { width: 1280, height: 800 },
    // The till's clock is the store's (Hangzhou), like the receipts and the report hours.
    timezoneId: "Asia/Shanghai",
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (e) => {
    console.log("# page error:", e.message);
    failed++;
  });
  await page.addInitScript(() => {
    if (!localStorage.getItem("tillstone.lang")) localStorage.setItem("tillstone.lang", "zh-CN");
  });
  await page.goto(base + "/");

  // Sign in: pick the cashier, type the PIN on the pad.
  await page.locator('[data-user="1001"]').waitFor();
  await page.screenshot({ path: join(shots, "01-users.png") });
  await page.click('[data-user="1001"]');
  for (const k of "1111") await page.click(`.pinpad [data-key="${k}"]`);
  await page.screenshot({ path: join(shots, "02-pin.png") });
  await page.click("#pin-ok");
  step("signed in as 1001");

  // Open a shift (unless one is already open).
  await page.waitForSelector('body[data-screen="shift"], body[data-screen="sale"]');
  if ((await page.getAttribute("body", "data-screen")) === "shift") {
    await page.fill("#float-input", "500.00");
    await page.screenshot({ path: join(shots, "03-open-shift.png") });
    await page.click("#open-shift");
    await page.waitForSelector('body[data-screen="sale"]');
    step("opened a shift with a 500.00 float");
  } else {
    step("a shift was already open");
  }

  // A wrong scan shows its outcome.
  await page.locator("#code-input").waitFor();
  await page.click("body");
  await wedgeScan(page, "6900000000000");
  await page.locator("#scan-status.error").waitFor();
  step(`invalid barcode shown: ${await page.textContent("#scan-status")}`);

  // Scan while another field has focus: the code must not land in it.
  await page.click("#code-input");
  await wedgeScan(page, BARCODE);
  await page.locator("#cart-lines tbody tr").first().waitFor();
  await page.locator("#scan-status.ok").waitFor();
  const leaked = await page.inputValue("#code-input");
  if (leaked) throw new Error(`the scan leaked into the focused field: ${leaked}`);
  step(`scanned ${BARCODE} with wedge timing: ${await page.textContent("#scan-status")}`);
  await wedgeScan(page, BARCODE);
  await page.waitForFunction(() => document.querySelector("#cart-lines .qty-val")?.textContent === "2");
  step("second scan raised the quantity to 2");

  // Quantity 4 on the on-screen number pad (F6).
  await page.click("body");
  await page.keyboard.press("F6");
  await page.locator("#dialog-qty").waitFor();
  for (const k of ["C", "4"]) await page.click(`#dialog-qty .numpad [data-key="${k}"]`);
  if ((await page.inputValue("#dialog-input")) !== "4") throw new Error("the number pad did not type 4");
  await page.screenshot({ path: join(shots, "04-qty-numpad.png") });
  await page.click("#dialog-ok");
  await page.waitForFunction(() => document.querySelector("#cart-lines .qty-val")?.textContent === "4");
  step("quantity set to 4 on the number pad");

  // Attach a member (F5): search by the last 4 digits of the phone.
  await page.keyboard.press("F5");
  await page.locator("#dialog-member").waitFor();
  await page.fill("#member-input", "1234");
  await page.locator('[data-member="M000001"]').waitFor();
  await page.screenshot({ path: join(shots, "05-member-search.png") });
  await page.click('[data-member="M000001"]');
  await page.locator("#member-name").waitFor();
  const phone = await page.textContent("#member-phone");
  if (!/^\d{3}\*{4}\d{4}$/.test(phone ?? "")) throw new Error(`phone not masked: ${phone}`);
  step(`member attached: ${await page.textContent("#member-name")} ${phone}, ${await page.textContent("#member-points")} points`);

  // Apply a coupon (F3): 满50减5, signed by the demo HQ key.
  const coupon = demoCoupon(1001, 100000 + Math.floor(Math.random() * 800000));
  await page.keyboard.press("F3");
  await page.locator("#dialog-coupon").waitFor();
  await page.fill("#dialog-input", coupon);
  await page.keyboard.press("Enter");
  await page.locator("#coupons .trow").first().waitFor();
  await page.screenshot({ path: join(shots, "06-sale-member-coupon.png") });
  step(`coupon applied: ${(await page.textContent("#coupons .trow"))?.replace(/\s+/g, " ")}`);
  const total = await page.textContent("#grand-total");

  // Split tender: 500 of the member's points, 20.00 by card with a reference, the rest in cash.
  await page.keyboard.press("F4");
  await page.locator("#dialog-tender").waitFor();
  await page.keyboard.press("F9");
  await page.locator('[data-tender="points"].active').waitFor();
  for (const k of ["5", "0", "0"]) await page.click(`#dialog-tender .numpad [data-key="${k}"]`);
  await page.click("#add-points");
  await page.locator("#tender-list .trow").first().waitFor();
  await page.keyboard.press("F6");
  await page.locator('[data-tender="card"].active').waitFor();
  await page.fill("#tender-amount", "20");
  await page.fill("#tender-ref", "POS-778899");
  await page.locator("#tender-ref").press("Enter");
  await page.locator("#tender-list .trow").nth(1).waitFor();
  await page.keyboard.press("F5");
  await page.locator('[data-tender="cash"].active').waitFor();
  await page.screenshot({ path: join(shots, "07-split-tender.png") });
  await page.locator(".quick-cash .btn.quick").last().click();
  await page.locator(".paid-note").waitFor();
  const change = await page.textContent("#pay-change");
  await page.screenshot({ path: join(shots, "08-paid.png") });
  step(`paid ${total}: 500 points + card 20.00 + cash, change ${change}: ${(await page.textContent("#tender-list"))?.replace(/\s+/g, " ")}`);

  // Complete (F12) → receipt number, preview image, and the virtual printer prints it.
  await page.keyboard.press("F12");
  await page.locator("#receipt-no").waitFor();
  await waitImage(page, "#receipt-preview");
  const receiptText = await page.textContent("#receipt-no");
  const receiptNo = /[A-Z0-9]+-[A-Z0-9]+-\d+/.exec(receiptText ?? "")?.[0];
  if (!receiptNo) throw new Error(`no receipt number in ${receiptText}`);
  await page.locator("#print-status").waitFor();
  if (await printed(receiptNo)) step(`receipt ${receiptNo} printed on the virtual printer: ${await page.textContent("#print-status")}`);
  else step(`receipt ${receiptNo}: ${await page.textContent("#print-status")}`);
  await page.screenshot({ path: join(shots, "09-receipt.png") });

  // Return one unit by scanning the receipt barcode on the returns screen (F11).
  await page.keyboard.press("Enter");
  await page.waitForSelector('body[data-screen="sale"]');
  await page.keyboard.press("F11");
  await page.waitForSelector('body[data-screen="returns"]');
  await page.click("body");
  await wedgeScan(page, "RC" + receiptNo);
  await page.locator("#ret-lines tbody tr").first().waitFor();
  const row = page.locator("#ret-lines tbody tr").first();
  // Too many is refused on screen before anything is sent.
  await row.locator(".qty-input").fill("9");
  await row.locator(".qty-input").press("Enter");
  await page.locator("#ret-lines tr.bad").waitFor();
  await page.screenshot({ path: join(shots, "10-return-too-many.png") });
  await row.locator(".qty-input").fill("");
  await row.locator(".qty-input").press("Enter");
  await page.locator("#ret-lines tbody tr").first().locator("button", { hasText: "+" }).click();
  await page.waitForFunction(() => document.querySelector("#ret-lines .qty-input")?.value === "1");
  await page.screenshot({ path: join(shots, "11-return.png") });
  await page.keyboard.press("F12");
  await page.locator("#return-no").waitFor();
  await waitImage(page, "#return-preview");
  const refund = await page.textContent("#refund-total");
  const returnNo = /[A-Z0-9]+-[A-Z0-9]+-\d+/.exec((await page.textContent("#return-no")) ?? "")?.[0];
  await printed(returnNo ?? "?");
  await page.screenshot({ path: join(shots, "12-return-done.png") });
  step(`returned 1 unit of ${receiptNo}: ${returnNo}, refunded ${refund} to ${(await page.textContent("#refund-tenders"))?.replace(/\s+/g, " ")}`);

  // Park a sale (F7) and resume it.
  await page.keyboard.press("Escape");
  await page.waitForSelector('body[data-screen="sale"]');
  await page.click("body");
  await wedgeScan(page, BARCODE);
  await page.locator("#cart-lines tbody tr").first().waitFor();
  // A weighed item: no scale here, so the scale button says why; the weight goes in on the pad.
  await wedgeScan(page, "6983338760997");
  await page.locator("#dialog-weight").waitFor();
  await page.click("#weight-scale");
  await page.locator("#weight-note.error").waitFor();
  for (const k of ["0", ".", "4", "5", "6"]) await page.click(`#dialog-weight .numpad [data-key="${k}"]`);
  await page.screenshot({ path: join(shots, "13a-weight.png") });
  await page.click("#dialog-ok");
  await page.locator("#cart-lines tbody tr").nth(1).waitFor();
  step(`weighed item: ${await page.textContent("#weight-note").catch(() => "")}${(await page.textContent("#cart-lines tbody tr:nth-child(2) .qty")) ?? ""}`);
  await page.keyboard.press("F7");
  await page.locator("#dialog-parked").waitFor();
  await page.fill("#park-label", "E2E bag");
  await page.click("#park-current");
  await page.locator(".lines .empty").waitFor();
  await page.keyboard.press("F7");
  await page.locator("#parked-list [data-cart]").first().waitFor();
  await page.screenshot({ path: join(shots, "13-parked.png") });
  await page.locator("#parked-list [data-cart]").first().click();
  await page.locator("#cart-lines tbody tr").first().waitFor();
  step(`parked and resumed a sale: ${await page.textContent("#scan-status")}`);
  // Void it (F9) so the shift closes cleanly.
  await page.keyboard.press("F9");
  await page.locator("#dialog-void_cart .btn.danger").click();
  await page.locator(".lines .empty").waitFor();

  // X report with charts (Alt+3), printed on the receipt printer.
  await page.keyboard.press("Alt+3");
  await page.locator("#report-x").waitFor();
  // Drawn means painted pixels (chart.js is loaded on the first report: a blank canvas fails).
  await page.waitForFunction((sels) => sels.every((s) => {
    const c = document.querySelector(s);
    if (!(c instanceof HTMLCanvasElement) || !c.width || !c.height) return false;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let k = 3; k < d.length; k += 4) if (d[k] > 0) return true;
    return false;
  }), ["#chart-hour-x", "#chart-tender-x", "#chart-category-x"]);
  await page.screenshot({ path: join(shots, "14-x-report.png") });
  const before = printerSize();
  await page.keyboard.press("F8");
  await page.locator("#report-notice").waitFor();
  await printedMore(before);
  step(`X report: net ${await page.textContent("#kpi-net_sales")}, charts drawn; print: ${await page.textContent("#report-notice")}`);
  await noRawErrors(page, "the X report");

  // Devices need an installer or a manager: sign in as the manager.
  await page.click("#sign-out");
  await signIn(page, "9001", "9999");
  await page.waitForSelector('body[data-screen="sale"]');
  await page.keyboard.press("Alt+4");
  await page.locator("#devices").waitFor();
  await page.click("#dev-test-print");
  await page.locator("#dev-notice").waitFor();
  await printed("TILLSTONE-TEST");
  await waitImage(page, "#test-page-preview");
  await page.click("#scan-test");
  await wedgeScan(page, BARCODE);
  await page.locator("#dev-scan").waitFor();
  step(`devices: test print ${await page.textContent("#dev-notice")}; scanner test: ${await page.textContent("#dev-scan")}`);
  await page.screenshot({ path: join(shots, "15-devices.png"), fullPage: true });
  // A broken devices.toml is refused with its problems; nothing is saved.
  const good = await page.inputValue("#devices-toml");
  await page.fill("#devices-toml", '[scale]\npath = "ttyUSB0"\nbaud = 1234\nprotocol = "toledo8217"\n');
  await page.click("#devices-save");
  await page.locator("#dev-config-notice.error").waitFor();
  // Assign a discovered port from the list: it goes into the text, to be checked and saved.
  const assign = page.locator("[data-assign^='display:']").first();
  if (await assign.count()) {
    const port = (await assign.getAttribute("data-assign")).slice("display:".length);
    await page.fill("#devices-toml", good);
    await assign.click();
    if (!(await page.inputValue("#devices-toml")).includes(`[display]\npath = "${port}"`)) throw new Error("assigning a port did not edit devices.toml");
    step(`assigned ${port} as the customer display in devices.toml (not saved)`);
    await page.fill("#devices-toml", '[scale]\npath = "ttyUSB0"\nbaud = 1234\nprotocol = "toledo8217"\n');
    await page.click("#devices-save");
    await page.locator("#dev-config-notice.error").waitFor();
  }
  await page.locator("#dev-config").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "16-devices-invalid.png") });
  // Typed key by key (fast, ending in Enter), every character lands in the editor.
  await page.fill("#devices-toml", "");
  await page.click("#devices-toml");
  await page.keyboard.type("# e2e\n", { delay: 5 });
  if ((await page.inputValue("#devices-toml")) !== "# e2e\n") throw new Error(`typing into devices.toml lost keys: ${JSON.stringify(await page.inputValue("#devices-toml"))}`);
  await page.fill("#devices-toml", good);
  await page.click("#devices-save");
  await page.locator("#dev-config-notice.ok").waitFor();
  step(`devices.toml: invalid refused, valid saved (${await page.textContent("#dev-config-notice")})`);

  // Sync screen (Alt+5), in English.
  await page.click("#lang-toggle");
  await page.keyboard.press("Alt+5");
  await page.locator("#sync-pending").waitFor();
  await page.screenshot({ path: join(shots, "17-sync.png") });
  step(`sync: ${await page.textContent("#sync-pending")} pending, ${await page.textContent("#sync-enrolled")}`);
  await noRawErrors(page, "the sync screen");

  // Close the shift with a count (F10 from the sale screen) → Z report with charts.
  await page.keyboard.press("Alt+1");
  await page.waitForSelector('body[data-screen="sale"]');
  await page.keyboard.press("F10");
  await page.locator("#count-100").waitFor();
  await page.fill("#count-100", "5");
  await page.fill("#count-20", "1");
  await page.locator("#count-20").dispatchEvent("input");
  await page.screenshot({ path: join(shots, "18-close-shift.png") });
  await page.click("#close-shift");
  await page.locator("#z-report").waitFor();
  await page.waitForFunction(() => {
    const c = document.querySelector("#chart-hour-z");
    if (!(c instanceof HTMLCanvasElement) || !c.width || !c.height) return false;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let k = 3; k < d.length; k += 4) if (d[k] > 0) return true;
    return false;
  });
  // Closing prints the Z report; F8 prints it again.
  await page.locator("#report-notice").waitFor();
  await printed("Z REPORT");
  const beforeZ = printerSize();
  await page.click("#z-print");
  await printedMore(beforeZ);
  await page.screenshot({ path: join(shots, "19-z-report.png"), fullPage: true });
  step(`shift closed, Z report variance ${await page.textContent("#variance-z")}, printed`);
  await noRawErrors(page, "the Z report");

  // An installer lands on the devices screen (no sale screens), here in English.
  await page.click("#z-done");
  await signIn(page, "7001", "7777");
  await page.waitForSelector('body[data-screen="devices"]');
  await page.locator("#devices").waitFor();
  await waitImage(page, "#test-page-preview");
  if (await page.locator("#nav-sale").count()) throw new Error("an installer sees the sale screen");
  await page.screenshot({ path: join(shots, "20-installer-devices.png"), fullPage: true });
  step("installer signed in straight to the devices screen");
  await noRawErrors(page, "the devices screen");
} catch (e) {
  failed++;
  console.error("not ok -", e?.stack ?? e);
} finally {
  await browser?.close().catch(() => undefined);
  if (preview) preview.kill("SIGTERM");
  rmSync(profile, { recursive: true, force: true });
}
console.log(`# screenshots in ${shots}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
