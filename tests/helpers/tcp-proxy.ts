import net, { type AddressInfo, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of a real service (Redis, say), so a test can take the
 * service away from the app mid-run (`cut`) and give it back on the same port (`restore`).
 */
export async function startTcpProxy(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const { port } = server.address() as AddressInfo;

  /** Stops accepting and drops every open connection, as a store going away does. */
  async function cut(): Promise<void> {
    const closed = server.listening
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await closed;
  }

  return {
    port,
    cut,
    /** Listens again on the same port, so clients that retry find the service back. */
    restore: () => (server.listening ? Promise.resolve() : listen(port)),
    stop: cut,
  };
}

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;
