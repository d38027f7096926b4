/**
 * A loopback TCP proxy in front of a server, for network cuts: `freeze()` stops forwarding on every
 * connection open at that moment (nothing is delivered either way, nothing is closed: what a cut link
 * looks like to both ends), while connections opened later pass as before.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Bytes sent by the server to the clients so far, over all connections. */
  serverBytes(): number;
  /** Stops forwarding on every open connection. */
  freeze(): void;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const frozen = new Set<Socket>();
  let fromServer = 0;
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    const forward = (from: Socket, to: Socket, count: boolean): void => {
      from.on('data', (chunk: Buffer) => {
        if (frozen.has(from)) return;
        if (count) fromServer += chunk.length;
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => {
            if (!frozen.has(from)) from.resume();
          });
        }
      });
      from.on('end', () => {
        if (!frozen.has(from)) to.end();
      });
    };
    forward(client, upstream, false);
    forward(upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    serverBytes: () => fromServer,
    freeze() {
      for (const socket of sockets) {
        frozen.add(socket);
        socket.pause();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
