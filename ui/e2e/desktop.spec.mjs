// End-to-end smoke of the real Tauri binary (tillstone-desktop) through tauri-driver and
// WebKitWebDriver: start, sign in, open a shift, scan, pay cash, complete, see the receipt preview.
// Plain W3C WebDriver over fetch (no npm dependency). Run through e2e/desktop.sh, which starts
// Xvfb and tauri-driver; by hand:
//
//   WEBDRIVER_URL=http://127.0.0.1:4444 TILLSTONE_DESKTOP_BIN=$PWD/target/debug/tillstone-desktop \
//     node ui/e2e/desktop.spec.mjs
//
// Screenshots go to SHOTS_DIR (default target/desktop-e2e).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const WD = (process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444").replace(/\/$/, "");
const BIN = resolve(process.env.TILLSTONE_DESKTOP_BIN ?? join(root, "target/debug/tillstone-desktop"));
const SHOTS = resolve(process.env.SHOTS_DIR ?? join(root, "target/desktop-e2e"));
const BARCODE = process.env.E2E_BARCODE ?? "6972287967632";
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf"; // the W3C web element identifier
mkdirSync(SHOTS, { recursive: true });

let session = null;
let passed = 0;
let failed = 0;

function step(name) {
  passed++;
  console.log(`ok ${passed} - ${name}`);
}

async function wd(method, path, body) {
  const res = await fetch(WD + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  if (!res.ok || json?.value?.error) {
    const v = json?.value ?? {};
    const err = new Error(`${method} ${path}: ${v.error ?? res.status}: ${v.message ?? text.slice(0, 300)}`);
    err.wdError = v.error;
    throw err;
  }
  return json.value;
}

const s = (path) => `/session/${session}${path}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function exec(script, ...args) {
  return wd("POST", s("/execute/sync"), { script, args });
}

async function waitUntil(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (${last.message})` : ""}`);
}

async function find(css, ms = 15000) {
  return waitUntil(css, async () => {
    const els = await wd("POST", s("/elements"), { using: "css selector", value: css });
    return els.length ? els[els.length - 1][ELEMENT] : null;
  }, ms);
}

async function click(css) {
  const id = await find(css);
  await wd("POST", s(`/element/${id}/click`), {});
}

async function type(css, text, { clear = false } = {}) {
  const id = await find(css);
  if (clear) await wd("POST", s(`/element/${id}/clear`), {});
  await wd("POST", s(`/element/${id}/value`), { text });
}

async function textOf(css) {
  const id = await find(css);
  return wd("GET", s(`/element/${id}/text`));
}

async function screen() {
  return exec("return document.body.dataset.screen || null;");
}

// PNG from raw RGB rows.
function png(width, height, rgb) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (width * 3 + 1));
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (width * 3 + 1) + 1, y * width * 3, (y + 1) * width * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// The X screen as Xvfb paints it (-fbdir writes it as an XWD file): what a cashier would see,
// in any rendering mode. (WebKitWebDriver's own screenshot hangs when WebKit does not
// composite, which is how the shell runs by default.)
function xvfbScreen(file) {
  const b = readFileSync(file);
  const u = (i) => b.readUInt32BE(i * 4);
  const [headerSize, width, height, byteOrder, bpp, bytesPerLine, ncolors] = [u(0), u(4), u(5), u(7), u(11), u(12), u(19)];
  if (bpp !== 32) throw new Error(`unexpected Xvfb depth: ${bpp} bits per pixel`);
  const data = headerSize + ncolors * 12;
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = data + y * bytesPerLine + x * 4;
      const o = (y * width + x) * 3;
      if (byteOrder === 0) [rgb[o], rgb[o + 1], rgb[o + 2]] = [b[p + 2], b[p + 1], b[p]];
      else [rgb[o], rgb[o + 1], rgb[o + 2]] = [b[p + 1], b[p + 2], b[p + 3]];
    }
  }
  return png(width, height, rgb);
}

async function shot(name) {
  const file = join(SHOTS, `${name}.png`);
  if (process.env.XVFB_FB) {
    await sleep(300); // let the last change paint
    writeFileSync(file, xvfbScreen(process.env.XVFB_FB));
  } else {
    writeFileSync(file, Buffer.from(await wd("GET", s("/screenshot")), "base64"));
  }
  console.log(`# screenshot ${file}`);
}

try {
  console.log(`# WebDriver ${WD}, app ${BIN}`);
  const created = await wd("POST", "/session", {
    capabilities: { alwaysMatch: { "tauri:options": { application: BIN } } },
  });
  session = created.sessionId;
  step("the Tauri app started under WebDriver");

  const title = await wd("GET", s("/title"));
  if (title !== "Tillstone") throw new Error(`window title is ${JSON.stringify(title)}, not Tillstone`);
  const url = await wd("GET", s("/url"));
  console.log(`# page ${url}`);
  const inTauri = await exec("return '__TAURI_INTERNALS__' in window;");
  if (!inTauri) throw new Error("the page does not run inside Tauri (no __TAURI_INTERNALS__)");

  // Sign in: pick cashier 1001, PIN 1111 on the pad.
  await find('[data-user="1001"]', 30000);
  await shot("01-users");
  step("sign-in screen with the demo users (through the api command)");
  await click('[data-user="1001"]');
  for (const k of "1111") await click(`[data-key="${k}"]`);
  await click("#pin-ok");
  await waitUntil("the shift or sale screen", async () => ["shift", "sale"].includes(await screen()));
  step("signed in as 1001");

  if ((await screen()) === "shift") {
    await type("#float-input", "500.00", { clear: true });
    await shot("02-open-shift");
    await click("#open-shift");
    await waitUntil("the sale screen", async () => (await screen()) === "sale");
    step("opened a shift with a 500.00 float");
  } else {
    step("a shift was already open");
  }

  // Scan (typed into the code field with Enter, as a scanner or a cashier does).
  await find("#code-input");
  await type("#code-input", BARCODE + "\uE007");
  await find("#cart-lines tbody tr");
  await find("#scan-status.ok");
  const total = await textOf("#grand-total");
  await shot("03-sale");
  step(`scanned ${BARCODE}: ${await textOf("#scan-status")}, total ${total}`);

  // An unknown barcode is shown as an outcome, the sale goes on.
  await type("#code-input", "4006381333931\uE007");
  await find("#scan-status.error");
  step(`unknown barcode shown: ${await textOf("#scan-status")}`);

  // Tender: cash with the largest quick amount, then complete.
  await click("#btn-pay");
  await find("#dialog-tender");
  await click(".quick-cash .btn.quick");
  await find(".paid-note");
  const change = await textOf("#pay-change");
  await shot("04-paid");
  step(`paid cash for ${total}, change ${change}`);
  await click("#tender-complete");
  await find("#receipt-no");
  await waitUntil(
    "the receipt preview image",
    () => exec(`const i = document.querySelector("#receipt-preview");
      return i instanceof HTMLImageElement && i.complete && i.naturalWidth > 0;`),
    20000,
  );
  // The preview must show ink, not a blank page: count dark pixels of the decoded image.
  const ink = await exec(`const i = document.querySelector("#receipt-preview");
    const c = document.createElement("canvas");
    c.width = i.naturalWidth; c.height = Math.min(i.naturalHeight, 400);
    const g = c.getContext("2d");
    g.drawImage(i, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let k = 0; k < d.length; k += 4) if (d[k] < 128 && d[k + 3] > 0) dark++;
    return { w: i.naturalWidth, h: i.naturalHeight, dark, src: i.src.slice(0, 30) };`);
  console.log(`# receipt preview ${JSON.stringify(ink)}`);
  if (!(ink.dark > 100)) throw new Error(`the receipt preview looks blank: ${JSON.stringify(ink)}`);
  await sleep(300);
  const receipt = await textOf("#receipt-no");
  await shot("05-receipt");
  step(`sale completed: ${receipt}; receipt preview PNG shown (data URL through the api command)`);

  // The X report: its charts come from a chunk loaded on first use (through the tauri://
  // protocol, under the CSP); drawn means painted pixels, not just a canvas element.
  await click("#nav-reports");
  await find("#report-x");
  await waitUntil(
    "the X report's charts to be painted",
    () => exec(`return ["#chart-hour-x", "#chart-tender-x", "#chart-category-x"].every((s) => {
      const c = document.querySelector(s);
      if (!(c instanceof HTMLCanvasElement) || !c.width || !c.height) return false;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      for (let k = 3; k < d.length; k += 4) if (d[k] > 0) return true;
      return false;
    });`),
    20000,
  );
  await shot("06-x-report");
  // Times are on the store's clock (the demo store is UTC+8), not the machine's (UTC here).
  const reportAt = await textOf("#report-at-x");
  const pad = (n) => String(n).padStart(2, "0");
  const storeClock = (minutesAgo) => {
    const d = new Date(Date.now() + (480 - minutesAgo) * 60000);
    return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  };
  if (![0, 1, 2].map(storeClock).includes(reportAt)) {
    throw new Error(`the report time ${reportAt} is not on the store's clock (now there: ${storeClock(0)})`);
  }
  step(`X report with its charts drawn: net ${await textOf("#kpi-net_sales")}, at ${reportAt} store time`);
} catch (e) {
  failed++;
  console.error("not ok -", e?.stack ?? e);
  if (session) await shot("zz-failure").catch(() => undefined);
} finally {
  if (session) await wd("DELETE", s("")).catch(() => undefined);
}
console.log(`# screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
