// The load generator's HTTP client: one keep-alive HTTP/1.1 connection at a time per request
// (no pipelining), parsed by hand so both loop kinds time requests with one clock and one parser.
import { connect, type Socket } from 'node:net';
import type { BenchServer } from './servers.ts';

export type OnReply = (status: number, body: Buffer) => void;
const EMPTY: Buffer = Buffer.alloc(0);

/** One keep-alive HTTP/1.1 connection, at most one request in flight (no pipelining). */
export class Connection {
  alive = true;
  private buf = EMPTY;
  private bodyAt = -1;
  private status = 0;
  private length = 0;
  private reply: OnReply | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.alive = false;
      this.settle(0, EMPTY);
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(request: string, reply: OnReply): void {
    this.reply = reply;
    this.socket.write(request);
  }

  close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  private settle(status: number, body: Buffer): void {
    const reply = this.reply;
    this.reply = undefined;
    reply?.(status, body);
  }

  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.bodyAt < 0) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      // Fastify always sends a content-length for these JSON replies.
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) return this.close();
      this.status = Number(head.slice(9, 12));
      this.length = Number(length[1]);
      this.bodyAt = end + 4;
    }
    if (this.buf.length < this.bodyAt + this.length) return;
    const body = this.buf.subarray(this.bodyAt, this.bodyAt + this.length);
    this.buf = EMPTY;
    this.bodyAt = -1;
    this.settle(this.status, body);
  }
}

export function requestText(method: string, port: number, path: string, body: string): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** One request on a new connection (no keep-alive socket may outlive a server's pause). */
export async function call(server: BenchServer, method: string, path: string, body: unknown): Promise<void> {
  const conn = await Connection.open(server.port);
  const reply = await new Promise<{ status: number; body: Buffer }>((resolve) =>
    conn.send(requestText(method, server.port, path, JSON.stringify(body)), (status, b) => resolve({ status, body: b })),
  );
  conn.close();
  if (reply.status !== 200) throw new Error(`${method} ${path} on the ${server.name} server: ${reply.status} ${reply.body.toString()}`);
}
