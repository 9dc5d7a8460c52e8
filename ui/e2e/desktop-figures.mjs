// Figures of the desktop app (make bench-desktop): cold start to interactive and memory.
//
// For each store (NAME=DIR arguments), starts the release tillstone-desktop RUNS times and measures
//   * start → ready: from spawning the process to the sign-in screen's user buttons being on
//     screen (the UI calls the shell's `ui_ready` command, which writes TILLSTONE_READY_FILE);
//     the shell's own figure (process start → ready) is shown beside it;
//   * memory, 1.5 s after ready: RSS summed over the whole process tree (tillstone-desktop +
//     WebKitWebProcess + WebKitNetworkProcess, from /proc) and PSS (shared pages split fairly).
// The first run of each store is shown separately (first start after the store was prepared).
//
//   DISPLAY=:99 node ui/e2e/desktop-figures.mjs BIN demo=/tmp/demo 1m=/tmp/catalog-1000000
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [bin, ...stores] = process.argv.slice(2);
if (!bin || !stores.length) {
  console.error("usage: desktop-figures.mjs BIN NAME=DIR...");
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
  for (const p of pids) {
    rss += kb(`/proc/${p}/status`, "VmRSS");
    pss += kb(`/proc/${p}/smaps_rollup`, "Pss");
    uss += kb(`/proc/${p}/smaps_rollup`, "Private_Clean") + kb(`/proc/${p}/smaps_rollup`, "Private_Dirty");
    try {
      names.push(readFileSync(`/proc/${p}/comm`, "utf8").trim());
    } catch {
      // ended
    }
  }
  return { rssMb: rss / 1024, pssMb: pss / 1024, ussMb: uss / 1024, procs: names };
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

async function run(dir) {
  const work = mkdtempSync(join(tmpdir(), "tillstone-figures-"));
  const ready = join(work, "ready");
  const t0 = performance.now();
  const child = spawn(bin, ["--data", dir], {
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
      if (child.exitCode !== null) throw new Error(`tillstone-desktop exited with ${child.exitCode} before it was ready`);
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
const rows = [];
let ok = true;
for (const spec of stores) {
  const eq = spec.indexOf("=");
  const [name, dir] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [spec, spec];
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run(dir);
    console.error(
      `# ${name} run ${i + 1}: start→ready ${r.wallMs.toFixed(0)} ms (shell ${r.shellMs} ms), ` +
        `RSS ${r.rssMb.toFixed(1)} MB, PSS ${r.pssMb.toFixed(1)} MB, USS ${r.ussMb.toFixed(1)} MB [${r.procs.join(", ")}]`,
    );
    runs.push(r);
  }
  const first = runs[0];
  const rest = runs.length > 1 ? runs.slice(1) : runs;
  const row = {
    name,
    first: first.wallMs,
    p50: median(rest.map((r) => r.wallMs)),
    max: Math.max(...runs.map((r) => r.wallMs)),
    shell: median(rest.map((r) => r.shellMs)),
    rss: median(runs.map((r) => r.rssMb)),
    rssMax: Math.max(...runs.map((r) => r.rssMb)),
    pss: median(runs.map((r) => r.pssMb)),
    uss: median(runs.map((r) => r.ussMb)),
    procs: first.procs.length,
  };
  row.verdict = row.max < TARGET_MS && row.rssMax < TARGET_MB ? "PASS" : "FAIL";
  if (row.verdict !== "PASS") ok = false;
  rows.push(row);
}

const head = ["store", "runs", "first start", "start→ready p50", "max", "shell p50", "RSS tree p50", "RSS max", "PSS p50", "USS p50", "procs", "target", "verdict"];
const body = rows.map((r) => [
  r.name,
  String(RUNS),
  `${(r.first / 1000).toFixed(2)} s`,
  `${(r.p50 / 1000).toFixed(2)} s`,
  `${(r.max / 1000).toFixed(2)} s`,
  `${(r.shell / 1000).toFixed(2)} s`,
  `${r.rss.toFixed(0)} MB`,
  `${r.rssMax.toFixed(0)} MB`,
  `${r.pss.toFixed(0)} MB`,
  `${r.uss.toFixed(0)} MB`,
  String(r.procs),
  `< ${TARGET_MS / 1000} s, < ${TARGET_MB} MB`,
  r.verdict,
]);
const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
const line = (cells) => "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
console.log("\nTillstone desktop (release, Xvfb): cold start to interactive and memory");
console.log(line(head));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const b of body) console.log(line(b));
console.log(
  "\nstart→ready: spawn → sign-in screen rendered (ui_ready); first start = first run on the prepared store;" +
    "\nmemory 1.5 s after ready, over tillstone-desktop + its WebKit processes: RSS summed (counts shared" +
    "\nlibraries once per process), PSS (shared pages split), USS (private pages: freed on exit). Verdict on RSS.",
);
process.exit(ok ? 0 : 1);
