/**
 * Keyboard-wedge scanner detection.
 *
 * A wedge scanner "types" the code much faster than a person and ends with Enter. The rule:
 * printable keys whose gaps are all < `maxGapMs` (35 ms by default), followed by Enter within
 * `maxGapMs` of the last key, with at least `minLength` characters, are one scan.
 *
 * Every printable key is held back (not typed) until we know: when the next key is too slow
 * (or the hold timer of `maxGapMs` fires), the held keys are *released* — the caller types them
 * into whatever has focus, so a person's typing arrives intact, just ≤ 35 ms later. A burst that
 * ends with Enter becomes a scan and never reaches the focused input.
 *
 * The class is pure (times are passed in) so it is unit tested with a fake clock.
 */
export interface WedgeOptions {
  /** Largest gap between two keys of one scan, ms (exclusive). */
  maxGapMs?: number;
  /** Fewest characters a scan has. */
  minLength?: number;
}

export type WedgeDecision =
  /** Keep the key back (do not type it); `release` are older held keys to type now. */
  | { kind: "hold"; release: string }
  /** A scan: swallow the Enter. */
  | { kind: "scan"; code: string }
  /** Not a scan: type `release` first, then let this key through as usual. */
  | { kind: "pass"; release: string };

interface Held {
  ch: string;
  t: number;
}

export class WedgeDetector {
  readonly maxGapMs: number;
  readonly minLength: number;
  private held: Held[] = [];

  constructor(opts: WedgeOptions = {}) {
    this.maxGapMs = opts.maxGapMs ?? 35;
    this.minLength = opts.minLength ?? 4;
  }

  /** Whether keys are being held back. */
  get pending(): boolean {
    return this.held.length > 0;
  }

  private lastT(): number | undefined {
    return this.held.length ? this.held[this.held.length - 1].t : undefined;
  }

  private take(): string {
    const s = this.held.map((h) => h.ch).join("");
    this.held = [];
    return s;
  }

  /**
   * A key was pressed at `t` (ms). `key` is `KeyboardEvent.key`: a single printable character,
   * "Enter", or anything else (which releases what is held and passes).
   */
  key(key: string, t: number): WedgeDecision {
    const last = this.lastT();
    const fast = last !== undefined && t - last < this.maxGapMs;
    if (key === "Enter") {
      if (fast && this.held.length >= this.minLength) {
        return { kind: "scan", code: this.take() };
      }
      return { kind: "pass", release: this.take() };
    }
    if (key.length !== 1) {
      return { kind: "pass", release: this.take() };
    }
    const release = last !== undefined && !fast ? this.take() : "";
    this.held.push({ ch: key, t });
    return { kind: "hold", release };
  }

  /**
   * The hold timer fired at `t`: keys older than `maxGapMs` were typed by a person — returns
   * them to type (or "" when the burst is still going).
   */
  tick(t: number): string {
    const last = this.lastT();
    if (last === undefined || t - last < this.maxGapMs) return "";
    return this.take();
  }

  /** Drop everything held (e.g. the screen changed). */
  reset(): string {
    return this.take();
  }
}
