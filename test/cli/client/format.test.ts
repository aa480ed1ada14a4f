import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  colorsFor,
  fixed,
  nodeResults,
  PLAIN,
  rfc3339,
  table,
  text,
  unixToRfc3339,
} from "../../../src/cli/client/format.ts";

describe("format", () => {
  it("draws a borderless table with trimmed lines", () => {
    const out = table(
      ["NODE", "OFFSET (ms)"],
      [
        ["127.0.0.1", "1.500"],
        ["a", "-"],
      ],
      PLAIN,
    );
    assert.equal(
      out,
      ["NODE       OFFSET (ms)", "127.0.0.1  1.500", "a          -"].join("\n"),
    );
  });

  it("marks a failed node and shows its error", () => {
    const out = nodeResults(
      [
        {
          addr: "127.0.0.1",
          loaded: "unknown",
          status: "unreachable",
          time_stamp: 1_700_000_000,
          applied_version: 2,
          rolled_back: false,
          error: "connect ECONNREFUSED",
        },
      ],
      PLAIN,
    );
    assert.deepEqual(out.split("\n"), [
      "NODE       RESULT  APPLIED VERSION  LOADED   STATUS       ROLLED BACK  AT (UTC)              ERROR",
      "127.0.0.1  FAILED  2                unknown  unreachable  no           2023-11-14T22:13:20Z  connect ECONNREFUSED",
    ]);
  });

  it("prints missing values as - and times in RFC 3339", () => {
    assert.equal(text(null), "-");
    assert.equal(text(true), "yes");
    assert.equal(fixed(undefined, 3), "-");
    assert.equal(fixed(4999.9674, 3), "4999.967");
    assert.equal(unixToRfc3339(0), "1970-01-01T00:00:00Z");
    assert.equal(
      rfc3339("2026-01-02T03:04:05.678Z"),
      "2026-01-02T03:04:05.678Z",
    );
    assert.equal(rfc3339(null), "-");
  });

  it("colours only a terminal without NO_COLOR", () => {
    assert.equal(colorsFor({ isTTY: true }, {}).red("x"), "\x1b[31mx\x1b[39m");
    assert.equal(colorsFor({ isTTY: true }, { NO_COLOR: "1" }).red("x"), "x");
    assert.equal(colorsFor({ isTTY: false }, {}).red("x"), "x");
    assert.equal(colorsFor({}, {}).red("x"), "x");
  });
});
