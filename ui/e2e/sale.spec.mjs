// End-to-end: sign in, open a shift, scan a barcode with wedge timing, pay cash, complete, see the
// receipt preview, close the shift. Plain node + playwright-core with the system Chromium.
//
//   TILLSTONE_URL=http://127.0.0.1:8799 npm run e2e
//
// The UI is taken from TILLSTONE_URL itself when the terminal serves ui/dist at `/`; otherwise
// `vite preview` (with the /api proxy to TILLSTONE_URL) serves the built ui/dist. UI_URL overrides.
// CHROMIUM (default /usr/bin/chromium) is the browser binary.
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const uiDir = join(here, "..");
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });

const api = (process.env.TILLSTONE_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
const BARCODE = process.env.E2E_BARCODE ?? "6972287967632";
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

/** Type like a keyboard-wedge scanner: keys 5 ms apart, then Enter. */
async function wedgeScan(page, code) {
  for (const ch of code) {
    await page.keyboard.press(ch);
    await page.waitForTimeout(3);
  }
  await page.keyboard.press("Enter");
}

const profile = mkdtempSync(join(tmpdir(), "tillstone-e2e-"));
let browser;
try {
  const base = await uiUrl();
  console.log(`# UI ${base}, API ${api}`);
  // A fresh profile directory (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    viewport: { width: 1280, height: 800 },
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("pageerror", (e) => console.log("# page error:", e.message));
  await page.addInitScript(() => localStorage.setItem("tillstone.lang", "zh-CN"));
  await page.goto(base + "/");

  // Sign in: pick the cashier, type the PIN on the pad.
  await page.locator('[data-user="1001"]').waitFor();
  await page.screenshot({ path: join(shots, "01-users.png") });
  await page.click('[data-user="1001"]');
  for (const k of "1111") await page.click(`[data-key="${k}"]`);
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
  const total = await page.textContent("#grand-total");
  await page.screenshot({ path: join(shots, "04-sale.png") });

  // Pay cash with the largest quick-cash amount (F4 opens the tender dialog).
  await page.keyboard.press("F4");
  await page.locator("#dialog-tender").waitFor();
  await page.screenshot({ path: join(shots, "05-tender.png") });
  await page.locator(".quick-cash .btn.quick").last().click();
  await page.locator(".paid-note").waitFor();
  const change = await page.textContent("#pay-change");
  await page.screenshot({ path: join(shots, "06-paid.png") });
  step(`paid cash for ${total}, change ${change}`);

  // Complete (F12) → receipt number and preview image.
  await page.keyboard.press("F12");
  await page.locator("#receipt-no").waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector("#receipt-preview");
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 15000 });
  const receipt = await page.textContent("#receipt-no");
  await page.screenshot({ path: join(shots, "07-receipt.png") });
  step(`completed: ${receipt}, preview image loaded`);

  // Next sale, switch to English, then close the shift with a count.
  await page.keyboard.press("Enter");
  await page.waitForSelector('body[data-screen="sale"]');
  await page.click("#lang-toggle");
  await page.keyboard.press("F10");
  await page.locator("#count-100").waitFor();
  await page.fill("#count-100", "5");
  await page.fill("#count-20", "1");
  await page.locator("#count-20").dispatchEvent("input");
  await page.screenshot({ path: join(shots, "08-close-shift.png") });
  await page.click("#close-shift");
  await page.locator("#z-report").waitFor();
  await page.screenshot({ path: join(shots, "09-z-report.png") });
  step(`shift closed, Z report variance ${await page.textContent("#z-variance")}`);
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
