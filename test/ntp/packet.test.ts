import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeReply,
  encodeRequest,
  ntpToUnixMs,
  refidAscii,
  refidText,
  unixMsToNtp,
  wallClockMs,
  writeTimestamp,
} from "../../src/ntp/packet.ts";

/** Unix time of the NTP era 1 rollover (2036-02-07T06:28:16Z). */
const ERA1_UNIX_MS = 2_085_978_496_000;

describe("encodeRequest", () => {
  it("writes LI 0, version 4, mode 3 and the transmit timestamp", () => {
    const unixMs = 1_700_000_000_123.5;
    const { packet, transmit } = encodeRequest(unixMs);

    assert.equal(packet.length, 48);
    assert.equal(packet[0], 0x23);
    assert.deepEqual([...packet.subarray(1, 40)], new Array(39).fill(0));
    assert.equal(packet.readUInt32BE(40), transmit.seconds);
    assert.equal(packet.readUInt32BE(44), transmit.fraction);
    assert.equal(transmit.seconds, 1_700_000_000 + 2_208_988_800);

    const exact = Math.floor(0.1235 * 2 ** 32);
    assert.equal(transmit.fraction >>> 16, exact >>> 16);
  });

  it("randomises the low-order 16 bits of the fraction", () => {
    const lows = new Set<number>();
    for (let i = 0; i < 20; i++) {
      lows.add(encodeRequest(1_700_000_000_000).transmit.fraction);
    }
    assert.ok(lows.size > 15, `only ${lows.size} distinct timestamps`);
    for (const fraction of lows) {
      assert.ok(fraction < 2 ** 16, `high bits set in ${fraction}`);
    }
  });
});

describe("timestamp conversion", () => {
  it("converts unix ms to NTP and back", () => {
    assert.deepEqual(unixMsToNtp(0), { seconds: 2_208_988_800, fraction: 0 });
    assert.deepEqual(unixMsToNtp(500), {
      seconds: 2_208_988_800,
      fraction: 2 ** 31,
    });
    const ms = 1_800_000_000_250.25;
    const back = ntpToUnixMs(unixMsToNtp(ms), ms);
    assert.ok(Math.abs(back - ms) < 0.001, `${back} != ${ms}`);
  });

  it("crosses the 2036 era rollover", () => {
    assert.deepEqual(unixMsToNtp(ERA1_UNIX_MS + 5000), {
      seconds: 5,
      fraction: 0,
    });
    const after = { seconds: 5, fraction: 0 };
    assert.equal(
      ntpToUnixMs(after, ERA1_UNIX_MS - 60_000),
      ERA1_UNIX_MS + 5000,
    );
    const before = { seconds: 2 ** 32 - 5, fraction: 0 };
    assert.equal(
      ntpToUnixMs(before, ERA1_UNIX_MS + 60_000),
      ERA1_UNIX_MS - 5000,
    );
  });

  it("reads the wall clock in unix ms with a sub-ms fraction", () => {
    const a = wallClockMs();
    const b = Date.now();
    assert.ok(Math.abs(a - b) < 1000, `${a} vs ${b}`);
  });
});

describe("decodeReply", () => {
  it("decodes every header field", () => {
    const buf = Buffer.alloc(48);
    buf.writeUInt8((3 << 6) | (4 << 3) | 4, 0);
    buf.writeUInt8(2, 1);
    buf.writeInt8(6, 2);
    buf.writeInt8(-20, 3);
    buf.writeUInt32BE(0x0000_8000, 4);
    buf.writeUInt32BE(0x0001_4000, 8);
    buf.writeUInt32BE(0x7f7f_0101, 12);
    writeTimestamp(buf, 16, { seconds: 1, fraction: 2 });
    writeTimestamp(buf, 24, { seconds: 3, fraction: 4 });
    writeTimestamp(buf, 32, { seconds: 5, fraction: 6 });
    writeTimestamp(buf, 40, { seconds: 0xffff_ffff, fraction: 0x8000_0000 });

    assert.deepEqual(decodeReply(buf), {
      leap: 3,
      version: 4,
      mode: 4,
      stratum: 2,
      poll_log2: 6,
      precision_log2: -20,
      root_delay_s: 0.5,
      root_dispersion_s: 1.25,
      refid_raw: 0x7f7f_0101,
      reference: { seconds: 1, fraction: 2 },
      origin: { seconds: 3, fraction: 4 },
      receive: { seconds: 5, fraction: 6 },
      transmit: { seconds: 0xffff_ffff, fraction: 0x8000_0000 },
    });
  });

  it("accepts extension fields and refuses short packets", () => {
    assert.notEqual(decodeReply(Buffer.alloc(68)), null);
    assert.equal(decodeReply(Buffer.alloc(47)), null);
    assert.equal(decodeReply(Buffer.alloc(0)), null);
  });
});

describe("refid", () => {
  it("reads kiss codes and stratum-1 names as ASCII", () => {
    assert.equal(refidAscii(Buffer.from("RATE").readUInt32BE(0)), "RATE");
    assert.equal(refidAscii(Buffer.from("GPS\0").readUInt32BE(0)), "GPS");
    assert.equal(refidAscii(0), null);
    assert.equal(refidAscii(0x0102_0304), null);
    assert.equal(refidText(Buffer.from("PPS\0").readUInt32BE(0), 1), "PPS");
    assert.equal(refidText(0x0000_0001, 0), "00000001");
  });

  it("prints the refid as an IPv4 address from stratum 2", () => {
    assert.equal(refidText(0x7f7f_0101, 3), "127.127.1.1");
    assert.equal(refidText(0x7f00_001f, 2), "127.0.0.31");
  });
});
