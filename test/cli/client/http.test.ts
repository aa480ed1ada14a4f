import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EXIT, exitCodeFor } from "../../../src/cli/client/http.ts";

describe("exitCodeFor", () => {
  it("maps success to 0", () => {
    assert.equal(exitCodeFor(200, 0), 0);
  });

  it("maps a refusal (HTTP 4xx) to 1", () => {
    assert.equal(exitCodeFor(400, 1001), EXIT.refused);
    assert.equal(exitCodeFor(401, 1501), 1);
    assert.equal(exitCodeFor(404, 1301), 1);
    assert.equal(exitCodeFor(409, 1304), 1);
    assert.equal(exitCodeFor(429, 1503), 1);
  });

  it("maps partial failure and incomplete sync (HTTP 207) to 3", () => {
    assert.equal(exitCodeFor(207, 2001), EXIT.partial);
    assert.equal(exitCodeFor(207, 2003), 3);
  });

  it("maps all nodes failed and server errors to 4", () => {
    assert.equal(exitCodeFor(503, 2002), EXIT.failed);
    assert.equal(exitCodeFor(500, 5000), 4);
    assert.equal(exitCodeFor(502, 1305), 4);
    assert.equal(exitCodeFor(503, 3001), 4);
  });

  it("keeps the numbers documented in docs/cli.md", () => {
    assert.deepEqual(EXIT, {
      ok: 0,
      refused: 1,
      usage: 2,
      partial: 3,
      failed: 4,
      unreachable: 5,
    });
  });
});
