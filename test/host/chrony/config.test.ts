import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { ServeSpec } from "../../../src/agent/types.ts";
import { TimeplaneError } from "../../../src/errors.ts";
import {
  checkServeSpec,
  clusterServers,
  isServerAddress,
  renderCheckConf,
  renderServeDropIn,
  renderSources,
  renderSupervisedConf,
  toServeOptions,
} from "../../../src/host/chrony/config.ts";
import { removeDir, tempDir } from "./helpers.ts";

const exec = promisify(execFile);
const HEADER = "# Managed by timeplane; changes here are overwritten";

describe("renderSources", () => {
  it("renders one server line per source with the poll as log2", () => {
    const text = renderSources({
      servers: ["127.0.0.41", "::1", "ntp1.example.com"],
      poll_log2: 6,
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "server 127.0.0.41 iburst minpoll 6 maxpoll 6\n" +
        "server ::1 iburst minpoll 6 maxpoll 6\n" +
        "server ntp1.example.com iburst minpoll 6 maxpoll 6\n",
    );
  });

  it("renders only the header for an empty list", () => {
    assert.equal(renderSources({ servers: [], poll_log2: 4 }), `${HEADER}\n`);
  });

  it("appends the port when one is given", () => {
    const text = renderSources(
      { servers: ["127.0.0.41"], poll_log2: 17 },
      { port: 11123 },
    );
    assert.equal(
      text,
      `${HEADER}\nserver 127.0.0.41 iburst minpoll 17 maxpoll 17 port 11123\n`,
    );
  });

  const injections = [
    "127.0.0.41\ncmdallow all",
    "127.0.0.41 iburst\r\nallow 0/0",
    "127.0.0.41\tkey 1",
    "127.0.0.41 ",
    " 127.0.0.41",
    "",
    "-",
    "-bad.example.com",
    "a..b",
    "1.2.3.999",
    "256.1.1.1",
    "fe80::1%eth0",
    "host_name.example.com",
    "x".repeat(64),
    "ntp1.example.com\u0000",
  ];
  for (const server of injections) {
    it(`refuses server ${JSON.stringify(server)} (F09)`, () => {
      assert.throws(
        () => renderSources({ servers: [server], poll_log2: 6 }),
        (err: unknown) =>
          err instanceof TimeplaneError &&
          err.code === "INVALID_FIELD" &&
          err.params.field === "servers",
      );
    });
  }

  it("refuses a string where a list belongs (F10)", () => {
    const spec = { servers: "ntp1.example.com", poll_log2: 6 };
    assert.throws(
      () =>
        renderSources(spec as unknown as { servers: string[]; poll_log2: 6 }),
      /Invalid servers "ntp1.example.com": must be a list of addresses/,
    );
  });

  for (const poll of [3, 18, 6.5, Number.NaN, "6"]) {
    it(`refuses poll_log2 ${String(poll)}`, () => {
      assert.throws(
        () =>
          renderSources({
            servers: ["127.0.0.41"],
            poll_log2: poll as number,
          }),
        /Invalid poll_log2 .*: must be an integer from 4 to 17/,
      );
    });
  }

  it("refuses a port out of range", () => {
    assert.throws(
      () =>
        renderSources({ servers: ["127.0.0.41"], poll_log2: 6 }, { port: 0 }),
      /Invalid port 0: must be an integer from 1 to 65535/,
    );
  });
});

describe("renderSources with cluster servers", () => {
  const LEADER: ServeSpec = {
    bind_address: "127.0.0.81",
    allow: ["127.0.0.0/8"],
    local_stratum: 10,
  };

  it("lists the leaders after the upstream servers with the same poll", () => {
    const text = renderSources({
      servers: ["127.0.0.83"],
      poll_log2: 4,
      cluster_servers: ["127.0.0.81", "127.0.0.82"],
      serve: null,
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "server 127.0.0.83 iburst minpoll 4 maxpoll 4\n" +
        "server 127.0.0.81 iburst minpoll 4 maxpoll 4\n" +
        "server 127.0.0.82 iburst minpoll 4 maxpoll 4\n",
    );
  });

  it("gives a leader's fellow leaders its local stratum as minstratum", () => {
    const text = renderSources(
      {
        servers: ["127.0.0.83"],
        poll_log2: 6,
        cluster_servers: ["127.0.0.82"],
        serve: { ...LEADER, local_stratum: 8 },
      },
      { port: 11123 },
    );
    assert.equal(
      text,
      `${HEADER}\n` +
        "server 127.0.0.83 iburst minpoll 6 maxpoll 6 port 11123\n" +
        "server 127.0.0.82 iburst minpoll 6 maxpoll 6 minstratum 8 " +
        "port 11123\n",
    );
  });

  it("drops leaders already listed upstream or twice (F12)", () => {
    const text = renderSources({
      servers: ["127.0.0.81", "2001:db8::1"],
      poll_log2: 4,
      cluster_servers: [
        "127.0.0.81",
        "2001:DB8:0:0::1",
        "127.0.0.82",
        "::1",
        "0:0:0:0:0:0:0:1",
        "127.0.0.82",
      ],
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "server 127.0.0.81 iburst minpoll 4 maxpoll 4\n" +
        "server 2001:db8::1 iburst minpoll 4 maxpoll 4\n" +
        "server 127.0.0.82 iburst minpoll 4 maxpoll 4\n" +
        "server ::1 iburst minpoll 4 maxpoll 4\n",
    );
  });

  it("renders only leaders when there is no upstream", () => {
    assert.equal(
      renderSources({
        servers: [],
        poll_log2: 4,
        cluster_servers: ["127.0.0.81"],
        serve: { ...LEADER, bind_address: "127.0.0.82" },
      }),
      `${HEADER}\nserver 127.0.0.81 iburst minpoll 4 maxpoll 4 minstratum 10\n`,
    );
  });

  const badLeaders: unknown[] = [
    "127.0.0.81\ncmdallow all",
    "127.0.0.81 iburst\r\nallow 0/0",
    "127.0.0.81\tkey 1",
    "ntp1.example.com",
    "fe80::1%eth0",
    "127.0.0.081",
    "",
    7,
  ];
  for (const leader of badLeaders) {
    it(`refuses cluster server ${JSON.stringify(leader)} (F09)`, () => {
      assert.throws(
        () =>
          renderSources({
            servers: [],
            poll_log2: 6,
            cluster_servers: [leader as string],
          }),
        (err: unknown) =>
          err instanceof TimeplaneError &&
          err.code === "INVALID_FIELD" &&
          err.params.field === "cluster_servers" &&
          err.params.why === "must be an IPv4 or IPv6 address",
      );
    });
  }

  it("refuses a string where the cluster server list belongs", () => {
    const spec = { servers: [], poll_log2: 6, cluster_servers: "127.0.0.81" };
    assert.throws(
      () => renderSources(spec as unknown as { servers: []; poll_log2: 6 }),
      {
        code: "INVALID_FIELD",
        message:
          'Invalid cluster_servers "127.0.0.81": must be a list of IP ' +
          "addresses",
      },
    );
  });

  it("clusterServers treats absent and null as none", () => {
    assert.deepEqual(clusterServers(undefined), []);
    assert.deepEqual(clusterServers(null), []);
    assert.deepEqual(clusterServers(["::FFFF:127.0.0.1"]), ["::ffff:7f00:1"]);
  });
});

describe("checkServeSpec and the serving files", () => {
  const good: ServeSpec = {
    bind_address: "127.0.0.81",
    allow: ["127.0.0.0/8", "::1", "fd00::/8"],
    local_stratum: 10,
  };

  it("accepts a good spec and null", () => {
    assert.deepEqual(checkServeSpec(good), good);
    assert.equal(checkServeSpec(null), null);
    const v6 = { ...good, bind_address: "FD00:0:0::1" };
    assert.deepEqual(checkServeSpec(v6), { ...good, bind_address: "fd00::1" });
    assert.deepEqual(toServeOptions(good), {
      bindAddress: "127.0.0.81",
      allow: ["127.0.0.0/8", "::1", "fd00::/8"],
      localStratum: 10,
    });
  });

  const refusals: [string, unknown, string][] = [
    ["serve", "yes", 'Invalid serve "yes": must be an object or null'],
    ["serve", [], "Invalid serve []: must be an object or null"],
    [
      "bind_address",
      { ...good, bind_address: "127.0.0.81\nallow all" },
      'Invalid serve.bind_address "127.0.0.81\\nallow all": ' +
        "must be an IP address",
    ],
    [
      "bind_address",
      { ...good, bind_address: "leader.example.com" },
      'Invalid serve.bind_address "leader.example.com": must be an IP address',
    ],
    [
      "allow",
      { ...good, allow: "127.0.0.0/8" },
      'Invalid serve.allow "127.0.0.0/8": must be a list of networks',
    ],
    [
      "allow",
      { ...good, allow: ["127.0.0.0/33"] },
      'Invalid serve.allow "127.0.0.0/33": must be an IP address or ' +
        "network in CIDR form",
    ],
    [
      "allow",
      { ...good, allow: ["0/0 x"] },
      'Invalid serve.allow "0/0 x": must be an IP address or network in ' +
        "CIDR form",
    ],
    [
      "allow",
      { ...good, allow: ["all"] },
      'Invalid serve.allow "all": must be an IP address or network in ' +
        "CIDR form",
    ],
    [
      "local_stratum",
      { ...good, local_stratum: 16 },
      "Invalid serve.local_stratum 16: must be an integer from 1 to 15",
    ],
    [
      "local_stratum",
      { ...good, local_stratum: 0 },
      "Invalid serve.local_stratum 0: must be an integer from 1 to 15",
    ],
    [
      "local_stratum",
      { ...good, local_stratum: "10" },
      'Invalid serve.local_stratum "10": must be an integer from 1 to 15',
    ],
  ];
  for (const [what, value, message] of refusals) {
    it(`refuses a bad ${what}: ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => checkServeSpec(value),
        (err: unknown) =>
          err instanceof TimeplaneError &&
          err.code === "INVALID_FIELD" &&
          err.message === message,
      );
    });
  }

  it("renders the systemd drop-in without a bindaddress", () => {
    assert.equal(
      renderServeDropIn(good),
      `${HEADER}\n` +
        "allow 127.0.0.0/8\n" +
        "allow ::1\n" +
        "allow fd00::/8\n" +
        "local stratum 10 orphan\n",
    );
  });

  it("renders the supervised conf of a leader from its spec", () => {
    const text = renderSupervisedConf({
      stateDir: "/s",
      sourcesDir: "/s/sources.d",
      socket: "/s/chronyd.sock",
      serve: toServeOptions({ ...good, allow: ["127.0.0.0/8"] }),
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "sourcedir /s/sources.d\n" +
        "bindaddress 127.0.0.81\n" +
        "bindacqaddress 127.0.0.81\n" +
        "allow 127.0.0.0/8\n" +
        "local stratum 10 orphan\n" +
        "cmdport 0\n" +
        "bindcmdaddress /s/chronyd.sock\n" +
        "pidfile /s/chronyd.pid\n" +
        "driftfile /s/drift\n" +
        "makestep 1 3\n",
    );
  });
});

describe("isServerAddress", () => {
  it("accepts IPv4, IPv6 and RFC 1123 host names", () => {
    for (const ok of ["127.0.0.1", "::1", "2001:db8::1", "a.b-c.d", "x9"]) {
      assert.equal(isServerAddress(ok), true, ok);
    }
  });

  it("refuses non-strings", () => {
    assert.equal(isServerAddress(["x"]), false);
    assert.equal(isServerAddress(7), false);
  });
});

describe("renderSupervisedConf", () => {
  it("renders a client-only chronyd with its state files", () => {
    const text = renderSupervisedConf({
      stateDir: "/var/lib/tp",
      sourcesDir: "/var/lib/tp/sources.d",
      socket: "/var/lib/tp/chronyd.sock",
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "sourcedir /var/lib/tp/sources.d\n" +
        "port 0\n" +
        "cmdport 0\n" +
        "bindcmdaddress /var/lib/tp/chronyd.sock\n" +
        "pidfile /var/lib/tp/chronyd.pid\n" +
        "driftfile /var/lib/tp/drift\n" +
        "makestep 1 3\n",
    );
  });

  it("renders a serving chronyd with allow and orphan stratum", () => {
    const text = renderSupervisedConf({
      stateDir: "/s",
      sourcesDir: "/s/sources.d",
      socket: "/s/chronyd.sock",
      serve: {
        bindAddress: "127.0.0.43",
        allow: ["127.0.0.0/8", "::1"],
        localStratum: 10,
      },
    });
    assert.equal(
      text,
      `${HEADER}\n` +
        "sourcedir /s/sources.d\n" +
        "bindaddress 127.0.0.43\n" +
        "bindacqaddress 127.0.0.43\n" +
        "allow 127.0.0.0/8\n" +
        "allow ::1\n" +
        "local stratum 10 orphan\n" +
        "cmdport 0\n" +
        "bindcmdaddress /s/chronyd.sock\n" +
        "pidfile /s/chronyd.pid\n" +
        "driftfile /s/drift\n" +
        "makestep 1 3\n",
    );
  });

  it("refuses paths with blanks and bad serve values", () => {
    const base = { stateDir: "/s", sourcesDir: "/s/d", socket: "/s/c.sock" };
    assert.throws(
      () => renderSupervisedConf({ ...base, stateDir: "/s x" }),
      /Invalid stateDir "\/s x": must be an absolute path/,
    );
    assert.throws(
      () => renderSupervisedConf({ ...base, socket: "/s/c\nallow all" }),
      /Invalid socket/,
    );
    const serve = { bindAddress: "127.0.0.43", allow: ["0/0 x"] };
    assert.throws(
      () => renderSupervisedConf({ ...base, serve }),
      /Invalid allow "0\/0 x"/,
    );
    assert.throws(
      () =>
        renderSupervisedConf({
          ...base,
          serve: { bindAddress: "127.0.0.43", allow: [], localStratum: 16 },
        }),
      /Invalid localStratum 16: must be an integer from 1 to 15/,
    );
  });
});

describe("rendered files pass chronyd -p", () => {
  let dir = "";
  before(async () => {
    dir = await tempDir("cfg");
  });
  after(async () => {
    await removeDir(dir);
  });

  async function parse(conf: string): Promise<string> {
    const { stdout } = await exec("chronyd", ["-p", "-f", conf]);
    return stdout;
  }

  it("accepts a rendered sources file and prints its lines back", async () => {
    const sources = path.join(dir, "t.sources");
    await fs.writeFile(
      sources,
      renderSources(
        { servers: ["127.0.0.41", "::1", "ntp.example.com"], poll_log2: 4 },
        { port: 123 },
      ),
    );
    const conf = path.join(dir, "check.conf");
    await fs.writeFile(conf, renderCheckConf(sources));
    const printed = await parse(conf);
    assert.equal(
      printed,
      "port 0\ncmdport 0\n" +
        "server 127.0.0.41 iburst minpoll 4 maxpoll 4 port 123\n" +
        "server ::1 iburst minpoll 4 maxpoll 4 port 123\n" +
        "server ntp.example.com iburst minpoll 4 maxpoll 4 port 123\n",
    );
  });

  it("accepts a leader's sources and serving drop-in", async () => {
    const sources = path.join(dir, "leader.sources");
    const dropIn = path.join(dir, "serve.conf");
    const serve = {
      bind_address: "127.0.0.81",
      allow: ["127.0.0.0/8", "::1"],
      local_stratum: 10,
    };
    await fs.writeFile(
      sources,
      renderSources({
        servers: ["127.0.0.83"],
        poll_log2: 4,
        cluster_servers: ["127.0.0.82"],
        serve,
      }),
    );
    await fs.writeFile(dropIn, renderServeDropIn(serve));
    const conf = path.join(dir, "leader-check.conf");
    await fs.writeFile(conf, renderCheckConf(sources, dropIn));
    assert.equal(
      await parse(conf),
      "port 0\ncmdport 0\n" +
        "server 127.0.0.83 iburst minpoll 4 maxpoll 4\n" +
        "server 127.0.0.82 iburst minpoll 4 maxpoll 4 minstratum 10\n" +
        "allow 127.0.0.0/8\n" +
        "allow ::1\n" +
        "local stratum 10 orphan\n",
    );
  });

  it("accepts a rendered supervised main file", async () => {
    const conf = path.join(dir, "chrony.conf");
    await fs.writeFile(
      conf,
      renderSupervisedConf({
        stateDir: dir,
        sourcesDir: path.join(dir, "sources.d"),
        socket: path.join(dir, "chronyd.sock"),
        serve: { bindAddress: "127.0.0.43", allow: ["127.0.0.0/8"] },
      }),
    );
    const printed = await parse(conf);
    assert.match(printed, /^local stratum 10 orphan$/m);
    assert.match(
      printed,
      new RegExp(`^bindcmdaddress ${dir}/chronyd.sock$`, "m"),
    );
  });
});
