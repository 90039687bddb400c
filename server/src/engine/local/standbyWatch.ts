// A window in deep sleep keeps the standby host of its model alive (host/standby.ts) by holding a
// connection to it: the host ends a grace period after the last window and watcher left, so the
// standby goes when the last window closes. The window lets go when it attaches for the wake, when
// its model or load settings change, and when the standby setting turns off (then the standby is
// told, and ends at once). A standby that crashed is simply gone: the next wake starts a new host.
import type * as net from 'node:net';
import { createMessageConnection, SocketMessageReader, SocketMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { delay } from '../../shared/cancellation';
import { readProcessRss } from '../../shared/memory';
import { hostKey, rendezvousPaths, usableRuntimeDir, type HostIdentity } from '../../shared/rendezvous';
import { configureNotification, watchRequest, type HelloParams } from '../../host/protocol';
import { connectSocket } from './attachHost';

/** How long a window looks for the standby after its host ended (it starts, then listens). */
const findMs = 30_000;

export class StandbyWatch {
  private socket: net.Socket | null = null;
  private connection: MessageConnection | null = null;
  private hostPid: number | null = null;
  private released = false;

  constructor(
    readonly identity: HostIdentity,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    void this.find();
  }

  /** The standby's pid while this window holds it; null before it is found, or once it is gone. */
  get pid(): number | null {
    return this.hostPid;
  }

  /** The standby's RSS; null while none is held. */
  rssBytes(): number | null {
    return this.hostPid === null ? null : readProcessRss(this.hostPid);
  }

  /** This window's settings changed while it holds the standby (a standby turned off ends at once). */
  async configure(params: Omit<HelloParams, 'clientPid'>): Promise<void> {
    await this.connection?.sendNotification(configureNotification, params).catch(() => undefined);
  }

  /** Lets go: the standby ends after its grace when no other window holds it. */
  release(): void {
    this.released = true;
    this.hostPid = null;
    this.connection?.dispose();
    this.socket?.destroy();
    this.connection = null;
    this.socket = null;
  }

  private async find(): Promise<void> {
    const dir = usableRuntimeDir(this.env);
    if (dir === null) return;
    const paths = rendezvousPaths(dir, hostKey(this.identity));
    const deadline = Date.now() + findMs;
    while (!this.released && Date.now() < deadline) {
      const socket = await connectSocket(paths.socket);
      if (typeof socket !== 'string') {
        if (this.released) {
          socket.destroy();
          return;
        }
        if (await this.hold(socket)) return;
      }
      await delay(100);
    }
  }

  /** Asks the host at `socket` to count this window; false when it closed first (an old host on its way out). */
  private async hold(socket: net.Socket): Promise<boolean> {
    socket.on('error', () => undefined);
    const connection = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    connection.onError(() => undefined);
    connection.listen();
    const closed = new Promise<null>((resolve) => socket.once('close', () => resolve(null)));
    const state = await Promise.race([connection.sendRequest(watchRequest, { clientPid: process.pid }).catch(() => null), closed]);
    if (state === null || this.released || socket.destroyed) {
      connection.dispose();
      socket.destroy();
      return this.released;
    }
    this.socket = socket;
    this.connection = connection;
    this.hostPid = state.hostPid;
    socket.once('close', () => {
      if (this.socket !== socket) return;
      this.hostPid = null;
      this.connection?.dispose();
      this.connection = null;
      this.socket = null;
    });
    return true;
  }
}
