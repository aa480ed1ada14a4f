/**
 * A scriptable NTP server for tests: a UDP socket on a loopback address that
 * counts the requests it gets and answers each with whatever the test's
 * responder returns (nothing, one reply, or several). `serverReply` builds a
 * reply with chosen header fields, by default a good stratum-2 answer.
 */
import dgram from "node:dgram";
import {
  decodeReply,
  type NtpTimestamp,
  unixMsToNtp,
  wallClockMs,
  writeTimestamp,
} from "../../src/ntp/packet.ts";

export type Responder = (request: Buffer) => Buffer[];

export interface FakeServer {
  address: string;
  port: number;
  /** Requests received so far. */
  readonly packets: number;
  /** Arrival time of each request, in unix milliseconds. */
  readonly arrivalsMs: number[];
  respond: Responder;
  close(): Promise<void>;
}

export interface ReplyFields {
  leap: number;
  version: number;
  mode: number;
  stratum: number;
  /** Four ASCII characters or a 32-bit number. */
  refid: string | number;
  /** How far the server's clock is ahead of ours, in milliseconds. */
  clockOffsetMs: number;
  /** Origin timestamp; by default the request's transmit timestamp. */
  origin: NtpTimestamp;
  transmitZero: boolean;
}

export async function startFakeServer(
  address: string,
  respond: Responder,
  port = 0,
): Promise<FakeServer> {
  const socket = dgram.createSocket("udp4");
  const arrivalsMs: number[] = [];
  const server: FakeServer = {
    address,
    port: 0,
    get packets() {
      return arrivalsMs.length;
    },
    arrivalsMs,
    respond,
    close: () => new Promise<void>((resolve) => socket.close(resolve)),
  };
  socket.on("message", (msg, rinfo) => {
    arrivalsMs.push(Date.now());
    for (const reply of server.respond(msg)) {
      socket.send(reply, rinfo.port, rinfo.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind(port, address, resolve));
  server.port = socket.address().port;
  return server;
}

/** A reply to `request`; fields not given make a good stratum-2 answer. */
export function serverReply(
  request: Buffer,
  fields: Partial<ReplyFields> = {},
): Buffer {
  const f = { ...defaults(request), ...fields };
  const buf = Buffer.alloc(48);
  buf.writeUInt8((f.leap << 6) | (f.version << 3) | f.mode, 0);
  buf.writeUInt8(f.stratum, 1);
  buf.writeInt8(6, 2);
  buf.writeInt8(-20, 3);
  buf.writeUInt32BE(0x0000_0800, 4);
  buf.writeUInt32BE(0x0000_1000, 8);
  if (typeof f.refid === "number") {
    buf.writeUInt32BE(f.refid, 12);
  } else {
    buf.write(f.refid, 12, 4, "latin1");
  }
  const nowNtp = unixMsToNtp(wallClockMs() + f.clockOffsetMs);
  writeTimestamp(buf, 16, nowNtp);
  writeTimestamp(buf, 24, f.origin);
  writeTimestamp(buf, 32, nowNtp);
  const transmit = f.transmitZero ? { seconds: 0, fraction: 0 } : nowNtp;
  writeTimestamp(buf, 40, transmit);
  return buf;
}

function defaults(request: Buffer): ReplyFields {
  const parsed = decodeReply(request);
  if (parsed === null) {
    throw new Error(`Request too short: ${request.length} bytes`);
  }
  return {
    leap: 0,
    version: 4,
    mode: 4,
    stratum: 2,
    refid: 0x7f00_0022,
    clockOffsetMs: 0,
    origin: parsed.transmit,
    transmitZero: false,
  };
}
