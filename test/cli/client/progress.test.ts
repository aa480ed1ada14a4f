import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type NodeList,
  progressLine,
  withProgress,
} from "../../../src/cli/client/progress.ts";

const nodes = (desired: number, applied: number[]): NodeList => ({
  desired_version: desired,
  list: applied.map((v) => ({ applied_version: v })),
});

describe("progressLine", () => {
  it("waits until the desired version moved past the one before", () => {
    const line = progressLine("apply", 6, nodes(6, [6, 6]), 0);
    assert.equal(line, "applying: waiting for the controller");
    assert.equal(
      progressLine("apply", 6, null, 0),
      "applying: waiting for the controller",
    );
  });

  it("counts the nodes that reached the new version", () => {
    const line = progressLine("apply", 6, nodes(7, [7, 6, 7]), 1);
    assert.equal(line, "applying version 7: 2/3 nodes");
  });

  it("gives the seconds spent for a sync", () => {
    assert.equal(
      progressLine("sync", null, nodes(3, [3]), 4),
      "syncing 1 node: 4 s",
    );
    assert.equal(progressLine("sync", null, null, 0), "syncing nodes: 0 s");
  });
});

describe("withProgress", () => {
  it("writes nothing when the stream is not a terminal", async () => {
    const written: string[] = [];
    let polls = 0;
    const result = await withProgress(
      "apply",
      async () => {
        polls++;
        return null;
      },
      async () => "done",
      { isTTY: false, write: (t: string) => written.push(t) },
    );
    assert.equal(result, "done");
    assert.deepEqual(written, []);
    assert.equal(polls, 0);
  });

  it("updates one line while the work runs, then clears it", async () => {
    const written: string[] = [];
    const polls = [nodes(6, [6, 6]), nodes(7, [7, 6]), nodes(7, [7, 7])];
    let i = 0;
    const poll = async () => polls[Math.min(i++, polls.length - 1)] ?? null;
    const work = () =>
      new Promise<string>((resolve) => {
        const wait = setInterval(() => {
          if (i >= polls.length) {
            clearInterval(wait);
            resolve("done");
          }
        }, 5);
      });
    const stream = { isTTY: true, write: (t: string) => written.push(t) };

    assert.equal(await withProgress("apply", poll, work, stream, 10), "done");
    assert.deepEqual(written, [
      "\r\x1b[2Kapplying: waiting for the controller",
      "\r\x1b[2Kapplying version 7: 1/2 nodes",
      "\r\x1b[2Kapplying version 7: 2/2 nodes",
      "\r\x1b[2K",
    ]);
  });
});
