import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, describe, it } from "node:test";
import {
  defaultConfigPath,
  resolveSettings,
  UsageError,
} from "../../../src/cli/client/config.ts";
import { removeDir, tempDir } from "../../helpers/processes.ts";

describe("resolveSettings", () => {
  const dir = tempDir("tp-cli-conf-");
  const file = path.join(dir, "cli.json");
  writeFileSync(
    file,
    JSON.stringify({
      server: "http://127.0.0.1:7003/",
      token: "file-token",
      cluster: "file-cluster",
    }),
  );
  const env = {
    TIMEPLANE_URL: "http://127.0.0.1:7002",
    TIMEPLANE_API_TOKEN: "env-token",
    TIMEPLANE_CLUSTER: "env-cluster",
    XDG_CONFIG_HOME: dir,
  };

  after(() => removeDir(dir));

  it("takes the flag over the environment", () => {
    const s = resolveSettings(
      { server: "http://127.0.0.1:7001", token: "flag-token", config: file },
      env,
    );
    assert.deepEqual(s, {
      server: "http://127.0.0.1:7001",
      token: "flag-token",
      cluster: "env-cluster",
      json: false,
    });
  });

  it("takes the environment over the config file", () => {
    const s = resolveSettings({ config: file, json: true }, env);
    assert.deepEqual(s, {
      server: "http://127.0.0.1:7002",
      token: "env-token",
      cluster: "env-cluster",
      json: true,
    });
  });

  it("takes the config file over the default, without a trailing slash", () => {
    const s = resolveSettings({ config: file }, {});
    assert.deepEqual(s, {
      server: "http://127.0.0.1:7003",
      token: "file-token",
      cluster: "file-cluster",
      json: false,
    });
  });

  it("finds the file under XDG_CONFIG_HOME when --config is not given", () => {
    const xdg = tempDir("tp-cli-xdg-");
    try {
      const at = defaultConfigPath({ XDG_CONFIG_HOME: xdg });
      assert.equal(at, path.join(xdg, "timeplane", "cli.json"));
      assert.equal(
        defaultConfigPath({ HOME: "/home/op" }),
        "/home/op/.config/timeplane/cli.json",
      );
      const s = resolveSettings({}, { XDG_CONFIG_HOME: xdg });
      assert.equal(s.server, "http://127.0.0.1:9990");
      assert.equal(s.token, undefined);
    } finally {
      removeDir(xdg);
    }
  });

  it("treats an empty variable as unset", () => {
    const s = resolveSettings({ config: file }, { TIMEPLANE_URL: "" });
    assert.equal(s.server, "http://127.0.0.1:7003");
  });

  it("refuses a missing --config file, bad JSON, unknown keys, bad URLs", () => {
    const bad = path.join(dir, "bad.json");
    const cases: [string, RegExp][] = [
      ["{", /^Invalid config file ".*bad\.json": /],
      ["[]", /: not a JSON object$/],
      [
        '{"srever":"x"}',
        /unknown key "srever"; the keys are server, token, cluster$/,
      ],
      ['{"token":1}', /: token must be a string$/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(bad, text);
      assert.throws(
        () => resolveSettings({ config: bad }, {}),
        (err: Error) => err instanceof UsageError && message.test(err.message),
        text,
      );
    }
    assert.throws(
      () => resolveSettings({ config: path.join(dir, "none.json") }, {}),
      /^UsageError: Cannot read config file ".*none\.json": ENOENT/,
    );
    assert.throws(
      () => resolveSettings({ server: "127.0.0.1:9990" }, {}),
      /Invalid server "127\.0\.0\.1:9990": must be an http:\/\/ or https:\/\/ URL/,
    );
  });
});
