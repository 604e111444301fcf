/**
 * Whether the gateway keeps a connection open after answering a request: the request's bytes
 * go over a fresh TCP connection, its response is read to its end, then `GET /health` follows
 * on the same connection. A refusal that closes the connection makes the client open a new one
 * (a TCP handshake and a new parser on both sides) for its next request, so under attack the
 * gateway should close only where HTTP requires it: a body it did not read (a 413 of declared
 * length) or framing it cannot trust (two Content-Length headers).
 * @module
 */
import { connect as tcpConnect } from "node:net";

/** What {@link probeKeepAlive} saw. */
export interface KeepAliveProbe {
  /** The status of the request's response. */
  readonly status: number;
  /** `open`: the follow-up got its 200; `closed`/`reset`: the gateway ended the connection (FIN or RST). */
  readonly connection: "open" | "closed" | "reset";
  /** The response carried `Connection: close`. */
  readonly announcedClose: boolean;
}

const healthCheck = new TextEncoder().encode("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");

/** Sends `request` (HTTP/1.1 bytes) to the gateway at `base`, then `GET /health` on the same connection. */
export function probeKeepAlive(base: string, request: Uint8Array, timeoutMs = 10_000): Promise<KeepAliveProbe> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => socket.write(request));
    let buffer = Buffer.alloc(0);
    let first: { status: number; announcedClose: boolean } | undefined;
    const timer = setTimeout(() => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (connection: KeepAliveProbe["connection"]) => {
      clearTimeout(timer);
      socket.destroy();
      if (first === undefined) reject(new Error(`the connection ended (${connection}) before a response: ${JSON.stringify(buffer.toString("latin1", 0, 80))}`));
      else resolve({ ...first, connection });
    };
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const response = nextResponse(buffer);
        if (response === undefined) return;
        buffer = buffer.subarray(response.length);
        if (first === undefined) {
          first = { status: response.status, announcedClose: response.close };
          socket.write(healthCheck);
        } else return done(response.status === 200 ? "open" : "closed");
      }
    });
    socket.on("end", () => done("closed"));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ECONNRESET" || e.code === "EPIPE") done("reset");
      else {
        clearTimeout(timer);
        reject(e);
      }
    });
  });
}

/** The first complete response in `buffer` (framed by Content-Length), or undefined while incomplete. */
function nextResponse(buffer: Buffer): { status: number; close: boolean; length: number } | undefined {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const head = buffer.toString("latin1", 0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  return { status, close: /\r\nconnection: *close/i.test(head), length: end + 4 + length };
}
