import { describe, expect, it } from "vitest";
import { assignDevice, sectionFor } from "../src/devices";

describe("assigning a discovered port", () => {
  it("appends a section for a device that has none", () => {
    expect(assignDevice("", "scale", "/dev/ttyUSB0")).toBe(sectionFor("scale", "/dev/ttyUSB0"));
    const t = assignDevice('[printer]\ntransport = "usb"\npath = "/dev/usb/lp0"\n', "display", "/dev/ttyUSB1");
    expect(t).toBe('[printer]\ntransport = "usb"\npath = "/dev/usb/lp0"\n\n[display]\npath = "/dev/ttyUSB1"\nbaud = 9600\n');
  });
  it("changes the path of an existing section and keeps the rest, comments included", () => {
    const before = '# till 3\n[scale]\npath = "/dev/ttyUSB0"  # old\nbaud = 2400\nprotocol = "cas_continuous"\n';
    expect(assignDevice(before, "scale", "/dev/ttyACM0")).toBe('# till 3\n[scale]\npath = "/dev/ttyACM0"\nbaud = 2400\nprotocol = "cas_continuous"\n');
  });
  it("switches a printer's transport with the kind of port", () => {
    const net = '[printer]\ntransport = "tcp"\naddress = "192.168.1.50:9100"\npaper = "mm58"\n';
    expect(assignDevice(net, "printer", "/dev/usb/lp1")).toBe('[printer]\npath = "/dev/usb/lp1"\ntransport = "usb"\npaper = "mm58"\n');
    expect(assignDevice('[printer]\ntransport = "usb"\npath = "/dev/usb/lp0"\n', "printer", "/dev/ttyS0")).toBe('[printer]\ntransport = "serial"\npath = "/dev/ttyS0"\n');
  });
  it("takes the port away from another device (each device needs its own port)", () => {
    const before = '[scale]\npath = "/dev/ttyUSB0"\nbaud = 9600\nprotocol = "toledo8217"\n\n[scan]\nreceipt_prefix = "RC"\n';
    const after = assignDevice(before, "display", "/dev/ttyUSB0");
    expect(after).not.toContain("[scale]");
    expect(after).toContain('[scan]\nreceipt_prefix = "RC"');
    expect(after).toContain('[display]\npath = "/dev/ttyUSB0"');
  });
});
