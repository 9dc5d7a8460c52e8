// Figures of the desktop app (make bench-desktop): cold start to interactive and memory.
//
// For each store (NAME=DIR arguments), starts the release tillstone-desktop RUNS times and measures
//   * start → ready: from spawning the process to the sign-in screen's user buttons being on
//     screen (the UI calls the shell's `ui_ready` command, which writes TILLSTONE_READY_FILE);
//     the shell's own figure (process start → ready) is shown beside it;
//   * memory, 1.5 s after ready, from /proc: the RSS of each process (tillstone-desktop,
//     WebKitWebProcess, WebKitNetworkProcess), their sum, and PSS (shared pages split fairly).
// The first run of each store is shown separately (first start after the store was prepared).
//
// The baseline (--floor BIN, the webview_floor example) is measured the same way in the same run:
// a bare GTK window with one WebKitGTK webview set up like the till's, showing one line of text.
// It is the memory floor of any WebKitGTK app; the till's own cost is its figure above the floor.
//
//   DISPLAY=:99 node ui/e2e/desktop-figures.mjs BIN [--floor FLOOR_BIN] demo=/tmp/demo 1m=/tmp/c1m
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [bin, ...rest] = process.argv.slice(2);
let floorBin = null;
const stores = [];
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === "--floor") floorBin = rest[++i];
  else stores.push(rest[i]);
}
if (!bin || !stores.length || (rest.includes("--floor") && !floorBin)) {
  console.error("usage: desktop-figures.mjs BIN [--floor FLOOR_BIN] NAME=DIR...");
  process.exit(2);
}
const RUNS = Number(process.env.RUNS ?? 5);
const TARGET_MS = 2000;
const TARGET_MB = 200;
const SETTLE_MS = 1500;
const TIMEOUT_MS = 60000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function children(pid) {
  const out = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function tree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]));
  return all;
}

function kb(file, key) {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function memory(pid) {
  const pids = tree(pid);
  let rss = 0;
  let pss = 0;
  let uss = 0;
  const names = [];
  const perProcess = [];
  for (const p of pids) {
    const one = kb(`/proc/${p}/status`, "VmRSS");
    rss += one;
    pss += kb(`/proc/${p}/smaps_rollup`, "Pss");
    uss += kb(`/proc/${p}/smaps_rollup`, "Private_Clean") + kb(`/proc/${p}/smaps_rollup`, "Private_Dirty");
    let name = String(p);
    try {
      name = readFileSync(`/proc/${p}/comm`, "utf8").trim();
    } catch {
      // ended
    }
    names.push(name);
    perProcess.push({ name, rssMb: one / 1024 });
  }
  const largest = perProcess.reduce((a, b) => (b.rssMb > a.rssMb ? b : a), { name: "-", rssMb: 0 });
  return { rssMb: rss / 1024, pssMb: pss / 1024, ussMb: uss / 1024, procs: names, appMb: perProcess[0]?.rssMb ?? 0, largest };
}

async function stop(child) {
  const pids = tree(child.pid).reverse();
  for (const p of pids) {
    try {
      process.kill(p, "SIGTERM");
    } catch {
      // gone
    }
  }
  const end = Date.now() + 5000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < end) await sleep(50);
  for (const p of pids) {
    try {
      process.kill(p, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function run(exe, args) {
  const work = mkdtempSync(join(tmpdir(), "tillstone-figures-"));
  const ready = join(work, "ready");
  const t0 = performance.now();
  const child = spawn(exe, args, {
    env: {
      ...process.env,
      TILLSTONE_READY_FILE: ready,
      TILLSTONE_SINGLE_INSTANCE: "0",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    while (!existsSync(ready) || !readFileSync(ready, "utf8").trim()) {
      if (child.exitCode !== null) throw new Error(`${exe} exited with ${child.exitCode} before it was ready`);
      if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`not ready after ${TIMEOUT_MS} ms`);
      await sleep(5);
    }
    const wallMs = performance.now() - t0;
    const shellMs = Number(readFileSync(ready, "utf8").trim());
    await sleep(SETTLE_MS);
    return { wallMs, shellMs, ...memory(child.pid) };
  } finally {
    await stop(child);
    rmSync(work, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
async function measure(name, exe, args) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run(exe, args);
    console.error(
      `# ${name} run ${i + 1}: start→ready ${r.wallMs.toFixed(0)} ms (shell ${r.shellMs} ms), ` +
        `RSS ${r.rssMb.toFixed(1)} MB (${r.procs.join(", ")}: largest ${r.largest.name} ${r.largest.rssMb.toFixed(1)} MB), ` +
        `PSS ${r.pssMb.toFixed(1)} MB, USS ${r.ussMb.toFixed(1)} MB`,
    );
    runs.push(r);
  }
  const first = runs[0];
  const rest = runs.length > 1 ? runs.slice(1) : runs;
  const largest = runs.map((r) => r.largest).reduce((a, b) => (b.rssMb > a.rssMb ? b : a));
  return {
    name,
    first: first.wallMs,
    p50: median(rest.map((r) => r.wallMs)),
    max: Math.max(...runs.map((r) => r.wallMs)),
    shell: median(rest.map((r) => r.shellMs)),
    app: median(runs.map((r) => r.appMb)),
    largest,
    rss: median(runs.map((r) => r.rssMb)),
    pss: median(runs.map((r) => r.pssMb)),
    uss: median(runs.map((r) => r.ussMb)),
    procs: first.procs.length,
  };
}

const floor = floorBin ? await measure("baseline: bare WebKitGTK window", floorBin, []) : null;
const rows = [];
let ok = true;
for (const spec of stores) {
  const eq = spec.indexOf("=");
  const [name, dir] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  const row = await measure(name, bin, ["--data", dir]);
  // The regression guard: start within target, and no process of the till above the RSS target.
  row.verdict = row.max < TARGET_MS && row.largest.rssMb < TARGET_MB ? "PASS" : "FAIL";
  if (row.verdict !== "PASS") ok = false;
  rows.push(row);
}

const mb = (x) => `${x.toFixed(0)} MB`;
const over = (r, key) => (floor && r !== floor ? `${r[key] - floor[key] >= 0 ? "+" : ""}${(r[key] - floor[key]).toFixed(0)} MB` : "-");
const head = [
  "run", "runs", "first start", "start→ready p50", "max", "shell p50",
  "app process RSS", "largest process RSS", "RSS summed", "PSS", "USS", "over floor (RSS / PSS)", "procs", "verdict",
];
const all = floor ? [floor, ...rows] : rows;
const body = all.map((r) => [
  r.name,
  String(RUNS),
  `${(r.first / 1000).toFixed(2)} s`,
  `${(r.p50 / 1000).toFixed(2)} s`,
  `${(r.max / 1000).toFixed(2)} s`,
  `${(r.shell / 1000).toFixed(2)} s`,
  mb(r.app),
  `${mb(r.largest.rssMb)} ${r.largest.name}`,
  mb(r.rss),
  mb(r.pss),
  mb(r.uss),
  r === floor ? "-" : `${over(r, "rss")} / ${over(r, "pss")}`,
  String(r.procs),
  r === floor ? "baseline" : r.verdict,
]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log("\nTillstone desktop (release, Xvfb): cold start to interactive and memory");
console.log(line(head));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const b of body) console.log(line(b));
console.log(
  `\ntargets: start→ready < ${TARGET_MS / 1000} s, RSS < ${TARGET_MB} MB. start→ready: spawn → sign-in screen rendered (ui_ready);` +
    "\nfirst start = first run on the prepared store. Memory 1.5 s after ready over the app and its WebKit" +
    "\nprocesses: RSS per process and summed (the sum counts shared libraries once per process), PSS (shared" +
    "\npages split), USS (private pages). Verdict: start→ready and every process's RSS within target.",
);
if (floor) {
  const summedOk = rows.every((r) => r.rss < TARGET_MB);
  console.log(
    `RSS summed over the processes: ${summedOk ? "within" : "above"} ${TARGET_MB} MB; the bare WebKitGTK window alone sums to` +
      ` ${mb(floor.rss)} (PSS ${mb(floor.pss)}), the floor of any WebKitGTK app on this machine.`,
  );
}
process.exit(ok ? 0 : 1);
