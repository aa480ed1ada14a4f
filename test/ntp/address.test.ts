import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { TimeplaneError } from "../../src/errors.ts";
import {
  normaliseAddress,
  normaliseAddressList,
} from "../../src/ntp/address.ts";

const WHAT =
  "an address is an IPv4 address, an IPv6 address or an RFC 1123 host name";
const BAD_LABEL =
  "not a host name: labels of 1 to 63 letters, digits or hyphens, not " +
  "starting or ending with a hyphen";

/** Asserts that `fn` throws INVALID_FIELD with exactly `message`. */
function assertInvalid(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TimeplaneError);
    assert.equal(err.code, "INVALID_FIELD");
    assert.equal(err.scode, 1001);
    assert.equal(err.http, 400);
    assert.equal(err.message, message);
    return true;
  });
}

function refuses(raw: unknown): boolean {
  try {
    normaliseAddress(raw);
    return false;
  } catch (err) {
    return err instanceof TimeplaneError && err.code === "INVALID_FIELD";
  }
}

describe("F09 newline injection", () => {
  it("refuses each injected list with the exact message", () => {
    const cases: Array<[string, string]> = [
      ["127.0.0.21\ncmdallow all", '"127.0.0.21\\ncmdallow all"'],
      ["127.0.0.21 iburst\r\nallow 0/0", '"127.0.0.21 iburst\\r\\nallow 0/0"'],
      ["127.0.0.21\tkey 1", '"127.0.0.21\\tkey 1"'],
    ];
    for (const [raw, quoted] of cases) {
      assertInvalid(
        () => normaliseAddressList([raw]),
        `Invalid addrs ${quoted}: must not contain whitespace or control ` +
          `characters; ${WHAT}`,
      );
    }
  });

  it("refuses whitespace or control characters anywhere", () => {
    const inputs = [
      " 127.0.0.31",
      "127.0.0.31 ",
      "ntp1.example.com\n",
      "ntp1\u0000.example.com",
      "ntp1.example.com\u007f",
      "ntp1.example.com\u0085",
      "ntp1\u00a0example.com",
      "ntp1.exa\u200bmple.com",
      "ntp1.example.com\u2028",
      "::1\v",
      "2001:db8::1\f",
    ];
    for (const raw of inputs) {
      assert.equal(refuses(raw), true, JSON.stringify(raw));
    }
  });

  it("refuses any string holding a control character (property)", () => {
    const control = fc.constantFrom("\n", "\r", "\t", "\0", " ", "\u001b");
    fc.assert(
      fc.property(fc.string(), control, fc.string(), (a, c, b) =>
        refuses(`127.0.0.31${a}${c}${b}`),
      ),
    );
  });
});

describe("F10 a string where a list belongs", () => {
  it("refuses a bare string naming the field", () => {
    assertInvalid(
      () => normaliseAddressList("ntp1.example.com"),
      'Invalid addrs "ntp1.example.com": must be a list of addresses, not ' +
        "a string",
    );
  });

  it("refuses a nested list", () => {
    assertInvalid(
      () => normaliseAddressList([["x"]]),
      'Invalid addrs ["x"]: each entry must be a string, not a list',
    );
  });

  it("refuses a lone hyphen", () => {
    assertInvalid(
      () => normaliseAddressList(["-"]),
      `Invalid addrs "-": ${BAD_LABEL}; ${WHAT}`,
    );
  });

  it("refuses other shapes with the field name given", () => {
    assertInvalid(
      () => normaliseAddressList({ a: 1 }, "servers"),
      'Invalid servers {"a":1}: must be a list of addresses',
    );
    assertInvalid(
      () => normaliseAddressList(null),
      "Invalid addrs null: must be a list of addresses",
    );
    assertInvalid(
      () => normaliseAddressList(["127.0.0.31", 5]),
      `Invalid addrs 5: must be a string: ${WHAT}`,
    );
    assertInvalid(
      () => normaliseAddressList([]),
      "Invalid addrs []: must hold at least one address",
    );
  });
});

describe("F12 duplicates", () => {
  it("folds IPv6 spellings into one canonical address", () => {
    assert.deepEqual(normaliseAddressList(["2001:DB8:0:0::1", "2001:db8::1"]), [
      "2001:db8::1",
    ]);
  });

  it("folds host name case into one lower-case name", () => {
    assert.deepEqual(
      normaliseAddressList(["NTP1.Example.COM", "ntp1.example.com"]),
      ["ntp1.example.com"],
    );
  });

  it("keeps first-seen order and drops a trailing dot", () => {
    assert.deepEqual(
      normaliseAddressList([
        "b.example",
        "A.example",
        "127.0.0.31",
        "a.example.",
        "B.EXAMPLE.",
        "::1",
        "0:0::1",
      ]),
      ["b.example", "a.example", "127.0.0.31", "::1"],
    );
  });

  it("counts the limit after duplicates are folded", () => {
    const many = Array.from({ length: 33 }, (_, i) => `s${i}.example`);
    assertInvalid(
      () => normaliseAddressList(many),
      `Invalid addrs ${JSON.stringify(many).slice(0, 77)}...: must hold at ` +
        "most 32 addresses, not 33",
    );
    const folded = [...many.slice(0, 32), "S0.EXAMPLE"];
    assert.equal(normaliseAddressList(folded).length, 32);
    assert.deepEqual(normaliseAddressList(["a.example", "b.example"], "x", 2), [
      "a.example",
      "b.example",
    ]);
  });
});

describe("normaliseAddress", () => {
  it("keeps valid IPv4 literals", () => {
    for (const raw of ["127.0.0.31", "1.0.0.0", "223.255.255.255"]) {
      assert.equal(normaliseAddress(raw), raw);
    }
  });

  it("refuses IPv4 lookalikes with the exact reason", () => {
    const why =
      "not an IPv4 address: four numbers from 0 to 255 without leading " +
      `zeros; ${WHAT}`;
    for (const raw of ["127.000.0.1", "01.2.3.4", "256.1.1.1", "1.2.3"]) {
      assertInvalid(
        () => normaliseAddress(raw),
        `Invalid addrs ${JSON.stringify(raw)}: ${why}`,
      );
    }
    assert.equal(refuses("1.2.3.4.5"), true);
    assert.equal(refuses("4294967295"), true);
  });

  it("gives IPv6 literals in RFC 5952 form", () => {
    const cases: Array<[string, string]> = [
      ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
      ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
      ["1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["::1", "::1"],
      ["1::", "1::"],
      ["FE80::0:1", "fe80::1"],
      ["::FFFF:7F00:1F", "127.0.0.31"],
      ["::ffff:127.0.0.31", "127.0.0.31"],
      ["64:ff9b::127.0.0.31", "64:ff9b::7f00:1f"],
    ];
    for (const [raw, canonical] of cases) {
      assert.equal(normaliseAddress(raw), canonical, raw);
    }
  });

  it("matches the WHATWG URL serialiser on random IPv6 (property)", () => {
    const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (gs) => {
        fc.pre(!(gs.slice(0, 5).every((g) => g === 0) && gs[5] === 0xffff));
        // Unspecified and multicast addresses are refused (tested below).
        fc.pre(!gs.every((g) => g === 0) && (gs[0] ?? 0) < 0xff00);
        const text = gs.map((g) => g.toString(16).padStart(4, "0")).join(":");
        const url = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        return normaliseAddress(text) === url;
      }),
    );
  });

  it("refuses IPv6 zone ids, brackets and malformed literals", () => {
    assertInvalid(
      () => normaliseAddress("fe80::1%eth0"),
      `Invalid addrs "fe80::1%eth0": must not carry an IPv6 zone id; ${WHAT}`,
    );
    assertInvalid(
      () => normaliseAddress("[::1]"),
      `Invalid addrs "[::1]": must not be in brackets; ${WHAT}`,
    );
    for (const raw of [
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7::8",
      ":1",
      "1:",
      "g::1",
      "::1.2.3",
      "::1.2.3.4:5",
      "ntp1.example.com:123",
    ]) {
      const quoted = JSON.stringify(raw);
      assertInvalid(
        () => normaliseAddress(raw),
        `Invalid addrs ${quoted}: not a valid IPv6 address; ${WHAT}`,
      );
    }
  });

  it("lower-cases host names and removes one trailing dot", () => {
    assert.equal(normaliseAddress("NTP1.Example.COM."), "ntp1.example.com");
    assert.equal(normaliseAddress("localhost"), "localhost");
    assert.equal(normaliseAddress("a-b.c0"), "a-b.c0");
    assert.equal(normaliseAddress("1.2.3.4x"), "1.2.3.4x");
    const label63 = "a".repeat(63);
    assert.equal(normaliseAddress(`${label63}.com`), `${label63}.com`);
    const name253 = `${"a".repeat(61)}.`.repeat(4) + "a".repeat(5);
    assert.equal(name253.length, 253);
    assert.equal(normaliseAddress(`${name253}.`), name253);
  });

  it("refuses bad host names with the exact reason", () => {
    for (const raw of ["-a.com", "a-.com", "a..b", "a.b..", "a_b.com"]) {
      assertInvalid(
        () => normaliseAddress(raw),
        `Invalid addrs ${JSON.stringify(raw)}: ${BAD_LABEL}; ${WHAT}`,
      );
    }
    assert.equal(refuses(`${"a".repeat(64)}.com`), true);
    assert.equal(refuses("ntp.exämple.com"), true);
    assertInvalid(
      () => normaliseAddress("host.123"),
      `Invalid addrs "host.123": not a host name: the last label is all ` +
        `digits; ${WHAT}`,
    );
    const name254 = `${"a".repeat(61)}.`.repeat(4) + "a".repeat(6);
    assert.equal(refuses(name254), true);
    assert.equal(refuses("."), true);
  });

  it("refuses empty strings and non-strings", () => {
    assertInvalid(
      () => normaliseAddress(""),
      `Invalid addrs "": must not be empty; ${WHAT}`,
    );
    for (const raw of [null, undefined, 123, {}, ["127.0.0.31"], true]) {
      assert.equal(refuses(raw), true, String(raw));
    }
    assertInvalid(
      () => normaliseAddress(123, "server"),
      `Invalid server 123: must be a string: ${WHAT}`,
    );
  });
});

describe("IPv4-mapped IPv6 addresses", () => {
  it("normaliseAddress() gives the IPv4 address they stand for", () => {
    assert.equal(normaliseAddress("::ffff:127.0.3.1"), "127.0.3.1");
    assert.equal(normaliseAddress("::FFFF:7f00:301"), "127.0.3.1");
    assert.equal(normaliseAddress("0:0:0:0:0:ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(normaliseAddress("::1"), "::1");
  });

  it("normaliseAddressList() folds one into its IPv4 twin", () => {
    assert.deepEqual(normaliseAddressList(["127.0.3.1", "::ffff:127.0.3.1"]), [
      "127.0.3.1",
    ]);
  });
});

describe("addresses that are not unicast", () => {
  for (const raw of [
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "239.1.2.3",
    "240.0.0.1",
    "::",
    "ff02::1",
    "::ffff:255.255.255.255",
  ]) {
    it(`normaliseAddress(${JSON.stringify(raw)}) refuses it`, () => {
      assert.throws(
        () => normaliseAddress(raw),
        (err: unknown) =>
          err instanceof TimeplaneError &&
          err.message ===
            `Invalid addrs ${JSON.stringify(raw)}: not a unicast address: ` +
              "broadcast, multicast and unspecified addresses cannot be " +
              "servers or nodes",
      );
    });
  }
});
