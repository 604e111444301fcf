/**
 * A raw HTTP/1.1 client over a TCP socket, for what `fetch` cannot do: send a chunked body a
 * piece at a time and never end it, or keep a connection open and idle, and see exactly when
 * the server answers or closes.
 * @module
 */
import { connect, type Socket } from "node:net";

/** An open connection and what the server sent on it so far. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far, as text. */
  received(): string;
  /** True once the server closed (or reset) the connection. */
  closed(): boolean;
  /** Sends one chunk of a chunked body. */
  chunk(data: string | Uint8Array): void;
  close(): void;
}

/** Opens a connection to `127.0.0.1:port` and writes `head` (request line and headers, without the blank line) then the blank line. */
export async function rawRequest(port: number, head: string): Promise<RawConnection> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let text = "";
  let isClosed = false;
  socket.on("data", (data: Buffer) => (text += data.toString("latin1")));
  socket.on("close", () => (isClosed = true));
  socket.on("error", () => (isClosed = true));
  socket.write(`${head}\r\n\r\n`);
  return {
    socket,
    received: () => text,
    closed: () => isClosed,
    chunk(data) {
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      socket.write(`${bytes.length.toString(16)}\r\n`);
      socket.write(bytes);
      socket.write("\r\n");
    },
    close: () => socket.destroy(),
  };
}

/** The status of the first response in `text`, or undefined before its status line arrived. */
export function statusOf(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match === null ? undefined : Number(match[1]);
}
