/**
 * Assigning a discovered port to a device on the devices screen: edits the devices.toml text
 * (kept as the installer wrote it, comments included) so the section of that device uses the
 * port. Pure; the terminal validates the result before it is saved.
 */
export type DeviceRole = "printer" | "scanner" | "scale" | "display";
export const DEVICE_ROLES: DeviceRole[] = ["printer", "scanner", "scale", "display"];

/** A new section for a device on `path`. */
export function sectionFor(role: DeviceRole, path: string): string {
  const p = JSON.stringify(path);
  switch (role) {
    case "printer":
      return path.includes("/usb/lp")
        ? `[printer]\ntransport = "usb"\npath = ${p}\npaper = "mm80"\n`
        : `[printer]\ntransport = "serial"\npath = ${p}\nbaud = 9600\npaper = "mm80"\n`;
    case "scanner":
      return `[scanner]\npath = ${p}\nbaud = 9600\nsuffix = "cr"\n`;
    case "scale":
      return `[scale]\npath = ${p}\nbaud = 9600\nprotocol = "toledo8217"\nunit = "kg"\n`;
    case "display":
      return `[display]\npath = ${p}\nbaud = 9600\n`;
  }
}

const HEADER = /^\s*\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$/;

/**
 * `text` with `role`'s section using `path`: the section's `path` line is replaced (a printer's
 * `transport` follows the kind of port, and a network `address` goes), or a new section is
 * appended. Another section already on that path loses it — each device needs its own port —
 * by being removed, so the file stays valid.
 */
export function assignDevice(text: string, role: DeviceRole, path: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  // Section spans: [name, start, end) by line index.
  const spans: { name: string; start: number; end: number }[] = [];
  lines.forEach((l, i) => {
    const m = HEADER.exec(l);
    if (m) {
      if (spans.length) spans[spans.length - 1].end = i;
      spans.push({ name: m[1], start: i, end: lines.length });
    }
  });
  const pathRe = /^\s*path\s*=\s*"([^"]*)"/;
  // Drop other device sections that use this path.
  const drop = spans.filter(
    (s) => s.name !== role && DEVICE_ROLES.includes(s.name as DeviceRole) && lines.slice(s.start, s.end).some((l) => pathRe.exec(l)?.[1] === path),
  );
  const own = spans.find((s) => s.name === role);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (drop.some((s) => i >= s.start && i < s.end)) continue;
    if (own && i > own.start && i < own.end) {
      const l = lines[i];
      if (pathRe.test(l)) {
        out.push(`path = ${JSON.stringify(path)}`);
        continue;
      }
      if (role === "printer" && /^\s*transport\s*=/.test(l)) {
        out.push(`transport = "${path.includes("/usb/lp") ? "usb" : "serial"}"`);
        continue;
      }
      if (role === "printer" && /^\s*address\s*=/.test(l)) continue;
    }
    out.push(lines[i]);
    if (own && i === own.start && !lines.slice(own.start + 1, own.end).some((l) => pathRe.test(l))) {
      if (role === "printer" && !lines.slice(own.start + 1, own.end).some((l) => /^\s*transport\s*=/.test(l))) {
        out.push(`transport = "${path.includes("/usb/lp") ? "usb" : "serial"}"`);
      }
      out.push(`path = ${JSON.stringify(path)}`);
    }
  }
  let result = out.join("\n");
  if (!own) {
    const body = result.replace(/\s+$/, "");
    result = (body ? body + "\n\n" : "") + sectionFor(role, path);
  }
  return result;
}
