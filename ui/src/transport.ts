/**
 * How the UI reaches the terminal. In a browser: `fetch` against `tillstone serve`'s /api/v1.
 * In the Tauri window: the shell's `api` command, which hands the request in-process to the same
 * router (no port). Either way the API client sees a `Response`, so errors, 401 handling and
 * blobs (the receipt preview PNG, a data URL from the shell) work the same.
 */
import { invoke as tauriInvoke } from "@tauri-apps/api/core";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;
export type Invoke = <T>(cmd: string, args?: Record<string, unknown>) => Promise<T>;

/** What the shell's `api` command answers. */
export interface ShellResponse {
  status: number;
  content_type: string;
  /** JSON as JSON; anything else as a `data:` URL; `null` when empty. */
  body: unknown;
}

/** The shell's one error type (`CommandError` in src-tauri). */
export interface ShellError {
  kind: "bad_request" | "unauthorized" | "forbidden" | "not_found" | "conflict" | "internal";
  code: string;
  message: string;
  status: number;
}

export const API_BASE = "/api/v1";

/** True inside the Tauri window. */
export function inTauri(w: unknown = globalThis): boolean {
  return typeof w === "object" && w !== null && "__TAURI_INTERNALS__" in w;
}

export function isShellError(e: unknown): e is ShellError {
  if (typeof e !== "object" || e === null) return false;
  const o = e as Record<string, unknown>;
  return typeof o.kind === "string" && typeof o.code === "string" && typeof o.status === "number";
}

/** Split "/api/v1/products?q=x" into the API path "/products?q=x". */
export function apiPath(input: string, base = API_BASE): string {
  let path = input;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(path);
  if (scheme) path = path.slice(scheme[0].length) || "/";
  if (path === base) return "/";
  if (path.startsWith(base + "/") || path.startsWith(base + "?")) path = path.slice(base.length);
  return path.startsWith("/") ? path : "/" + path;
}

function header(headers: RequestInit["headers"], name: string): string | null {
  if (!headers) return null;
  if (headers instanceof Headers) return headers.get(name);
  const wanted = name.toLowerCase();
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [k, v] of entries) if (k.toLowerCase() === wanted) return v;
  return null;
}

/** Decode a `data:[mime][;base64],…` URL into its bytes and type. */
export function decodeDataUrl(url: string): { type: string; bytes: Uint8Array<ArrayBuffer> } | null {
  const m = /^data:([^,]*?),(.*)$/s.exec(url);
  if (!m) return null;
  const meta = m[1].split(";");
  const type = meta[0] || "text/plain";
  if (meta.includes("base64")) {
    const bin = atob(m[2]);
    const bytes = new Uint8Array(new ArrayBuffer(bin.length));
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return { type, bytes };
  }
  return { type, bytes: new TextEncoder().encode(decodeURIComponent(m[2])) };
}

function clampStatus(status: number, fallback: number): number {
  return Number.isInteger(status) && status >= 200 && status <= 599 ? status : fallback;
}

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** The shell's answer as the `Response` fetch would have given. */
export function toResponse(r: ShellResponse): Response {
  const status = clampStatus(r.status, 200);
  if (r.body === null || r.body === undefined || status === 204) {
    return new Response(null, { status: status === 204 ? 204 : status });
  }
  if (!r.content_type.startsWith("application/json") && typeof r.body === "string") {
    const data = decodeDataUrl(r.body);
    if (data) return new Response(data.bytes, { status, headers: { "content-type": data.type } });
  }
  return jsonResponse(status, r.body);
}

/** The shell's error as the API's `{"error": {code, message}}` answer (with its kind). */
export function errorResponse(e: ShellError): Response {
  return jsonResponse(clampStatus(e.status, 500), { error: { code: e.code, message: e.message, kind: e.kind } });
}

/** A fetch that goes through the shell's `api` command. */
export function tauriFetch(invoke: Invoke, base = API_BASE): FetchLike {
  return async (input, init) => {
    const method = (init?.method ?? "GET").toUpperCase();
    const auth = header(init?.headers, "Authorization");
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : null;
    let body: unknown = null;
    if (typeof init?.body === "string" && init.body !== "") {
      try {
        body = JSON.parse(init.body);
      } catch {
        throw new TypeError("the desktop transport sends JSON bodies only");
      }
    } else if (init?.body != null) {
      throw new TypeError("the desktop transport sends JSON bodies only");
    }
    let answer: ShellResponse;
    try {
      answer = await invoke<ShellResponse>("api", { method, path: apiPath(input, base), body, token });
    } catch (e) {
      if (isShellError(e)) return errorResponse(e);
      throw e instanceof Error ? e : new Error(typeof e === "string" ? e : "the desktop shell did not answer");
    }
    return toResponse(answer);
  };
}

/** The transport for where the UI runs: the shell's command in Tauri, else `fetch`. */
export function defaultFetch(w: unknown = globalThis, invoke: Invoke = tauriInvoke): FetchLike {
  if (inTauri(w)) return tauriFetch(invoke);
  return (input, init) => fetch(input, init);
}

/**
 * In Tauri: tell the shell (once) when `selector` (the sign-in screen's user buttons) is on
 * screen and painted, for the cold-start figure. Returns a function that stops watching.
 */
export function reportReady(
  doc: Document,
  invoke: Invoke,
  selector = "[data-user]",
  raf: (cb: () => void) => void = (cb) => requestAnimationFrame(() => cb()),
): () => void {
  let done = false;
  let observer: MutationObserver | null = null;
  const fire = () => {
    if (done || !doc.querySelector(selector)) return;
    done = true;
    observer?.disconnect();
    raf(() => {
      invoke<number>("ui_ready").catch(() => undefined);
    });
  };
  fire();
  if (!done && typeof MutationObserver !== "undefined") {
    observer = new MutationObserver(fire);
    observer.observe(doc.documentElement, { childList: true, subtree: true });
  }
  return () => {
    done = true;
    observer?.disconnect();
  };
}

if (inTauri() && typeof document !== "undefined") reportReady(document, tauriInvoke);
