/**
 * Tiny NTP servers inside the benchmark process: each binds one loopback
 * address on port 123 and answers every client request with a valid
 * stratum 2 server reply (origin copied, receive and transmit timestamps
 * from this clock), or, when silent, reads requests and never answers.
 */
import dgram from "node:dgram";
import {
  NTP_HEADER_BYTES,
  unixMsToNtp,
  wallClockMs,
  writeTimestamp,
} from "../src/ntp/packet.ts";
import type { Scope } from "./lib.ts";

const MODE_SERVER_V4 = (0 << 6) | (4 << 3) | 4;
const REFID_LOOPBACK = 0x7f000001;

export interface Responder {
  addr: string;
  /** Requests received so far. */
  received(): number;
  close(): Promise<void>;
}

export function serverReply(request: Buffer, receivedMs: number): Buffer {
  const reply = Buffer.alloc(NTP_HEADER_BYTES);
  reply.writeUInt8(MODE_SERVER_V4, 0);
  reply.writeUInt8(2, 1);
  reply.writeInt8(request.readInt8(2), 2);
  reply.writeInt8(-20, 3);
  reply.writeUInt32BE(0, 4);
  reply.writeUInt32BE(0x10, 8);
  reply.writeUInt32BE(REFID_LOOPBACK, 12);
  writeTimestamp(reply, 16, unixMsToNtp(receivedMs - 1000));
  request.copy(reply, 24, 40, 48);
  writeTimestamp(reply, 32, unixMsToNtp(receivedMs));
  writeTimestamp(reply, 40, unixMsToNtp(wallClockMs()));
  return reply;
}

export async function startResponder(
  addr: string,
  opts: { silent?: boolean } = {},
): Promise<Responder> {
  const socket = dgram.createSocket("udp4");
  let count = 0;
  socket.on("message", (msg, rinfo) => {
    const receivedMs = wallClockMs();
    count++;
    if (opts.silent || msg.length < NTP_HEADER_BYTES) return;
    socket.send(serverReply(msg, receivedMs), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(123, addr, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return {
    addr,
    received: () => count,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** Starts one responder per address; the scope closes each. */
export async function startResponders(
  scope: Scope,
  addrs: string[],
  opts: { silent?: boolean } = {},
): Promise<Responder[]> {
  return Promise.all(
    addrs.map(async (addr) => {
      const responder = await startResponder(addr, opts);
      scope.defer(() => responder.close());
      return responder;
    }),
  );
}

/** 127.0.0.<first> to 127.0.0.<last>, both included. */
export function loopbackRange(first: number, last: number): string[] {
  return Array.from(
    { length: last - first + 1 },
    (_, i) => `127.0.0.${first + i}`,
  );
}
