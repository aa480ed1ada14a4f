/**
 * A scripted NTP server for tests: answers every client request with a
 * reply built from the request (origin timestamp copied, as a real server
 * does) but with the leap indicator, stratum and reference id the test
 * chooses, such as a Kiss-o'-Death RATE. It counts the requests it got.
 */
import dgram from "node:dgram";

export interface ResponderOptions {
  addr: string;
  port?: number;
  leap?: number;
  stratum: number;
  /** Four ASCII characters, such as "RATE"; or an IPv4 refid. */
  refid: string;
}

export interface Responder {
  requests(): number;
  close(): Promise<void>;
}

const NTP_UNIX_S = 2_208_988_800;

export async function startResponder(o: ResponderOptions): Promise<Responder> {
  const socket = dgram.createSocket("udp4");
  let count = 0;
  socket.on("message", (msg, rinfo) => {
    if (msg.length < 48 || (msg[0] ?? 0) % 8 !== 3) return;
    count++;
    socket.send(reply(msg, o), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(o.port ?? 123, o.addr, () => resolve());
  });
  return {
    requests: () => count,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

function reply(request: Buffer, o: ResponderOptions): Buffer {
  const out = Buffer.alloc(48);
  out[0] = ((o.leap ?? 0) << 6) | (4 << 3) | 4;
  out[1] = o.stratum;
  out[2] = request[2] ?? 6;
  out[3] = 0xec;
  out.write(o.refid.padEnd(4, "\0").slice(0, 4), 12, "latin1");
  const now = Date.now() / 1000 + NTP_UNIX_S;
  const sec = Math.floor(now);
  const frac = Math.floor((now - sec) * 2 ** 32);
  for (const offset of [16, 32, 40]) {
    out.writeUInt32BE(sec, offset);
    out.writeUInt32BE(frac, offset + 4);
  }
  request.copy(out, 24, 40, 48);
  return out;
}
