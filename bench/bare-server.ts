/**
 * The baseline of api-throughput: a bare node:http server in a process of
 * its own, answering every request with a small JSON envelope. Prints
 * `LISTENING PORT`; SIGTERM closes it.
 */
import http from "node:http";

const BODY = JSON.stringify({
  scode: 0,
  desc: "success",
  message: "",
  message_cn: "",
  stack: null,
  data: { time: 0 },
});

const server = http.createServer((_req, res) => {
  res.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(BODY),
  });
  res.end(BODY);
});

server.listen(0, "127.0.0.1", () => {
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : 0;
  process.stdout.write(`LISTENING ${port}\n`);
});

process.once("SIGTERM", () => server.close(() => process.exit(0)));
