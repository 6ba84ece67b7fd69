import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { GroupCoordinator } from '../../src/groups/group-coordinator.js';
import type { FrontDoor } from '../../src/protocol/front-door-deps.js';
import { AccessControl } from '../../src/security/access-control.js';
import { AclOperation, AclPatternType, AclPermission, AclResourceType } from '../../src/security/acl.js';
import { AclStore } from '../../src/security/acl-store.js';
import { CredentialStore } from '../../src/security/credential-store.js';
import { HttpAuthenticator } from '../../src/security/http-authenticator.js';
import { TokenStore } from '../../src/security/token-store.js';
import { startHttpServer } from '../../src/server/http-server.js';
import { testFrontDoorDeps } from '../support/front-door-deps.js';
import { MemoryEngine } from '../support/memory-engine.js';
import { makeTempDir } from '../support/temp-dir.js';

type Json = Record<string, unknown>;

/** A JSON WebSocket peer with bounded waits (5 s) for each reply and for the close. */
class Peer {
  private readonly inbox: Json[] = [];
  private wake: (() => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.inbox.push(JSON.parse(data.toString('utf8')) as Json);
      this.wake?.();
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }
  /** Opens, or resolves with the HTTP status the upgrade was refused with. */
  static open(url: string, headers: Record<string, string> = {}): Promise<Peer | number> {
    const socket = new WebSocket(url, { headers });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new Peer(socket)));
      socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.once('error', reject);
    });
  }
  send(message: Json): void {
    this.socket.send(JSON.stringify(message));
  }
  async reply(id: number): Promise<Json> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.inbox.find((message) => message.id === id);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no reply ${id}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }
  close(): void {
    this.socket.close();
  }
}

describe('WebSocket authentication and ACLs', () => {
  const temp = makeTempDir('ws-auth');
  let server: FrontDoor;
  let groups: GroupCoordinator;
  let url: string;
  let tokens: TokenStore;

  beforeAll(async () => {
    const credentials = CredentialStore.open(temp.dir);
    await credentials.setPassword('alice', 'SCRAM-SHA-512', 'alice-secret');
    tokens = new TokenStore(temp.dir);
    const engine = new MemoryEngine();
    await engine.createTopic('orders', 1);
    const deps = await testFrontDoorDeps(engine);
    groups = deps.groups;
    const store = new AclStore(temp.dir);
    store.add([
      {
        resourceType: AclResourceType.TOPIC,
        resourceName: 'orders',
        patternType: AclPatternType.LITERAL,
        principal: 'User:alice',
        host: '*',
        operation: AclOperation.WRITE,
        permission: AclPermission.ALLOW,
      },
    ]);
    const access = new AccessControl(store, {
      superUsers: [],
      allowEveryoneIfNoAclFound: false,
      audit: () => {},
    });
    server = await startHttpServer(
      { ...deps, access },
      { authenticator: new HttpAuthenticator(credentials, tokens, false) },
    );
    url = `ws://127.0.0.1:${server.port}/ws`;
  });
  afterAll(async () => {
    await server.close();
    await groups.close();
    temp.cleanup();
  });

  const produce = { op: 'produce', id: 1, topic: 'orders', records: [{ value: 'v', partition: 0 }], acks: 1 };

  it('authenticates the upgrade with Basic, allows Write and refuses Read and subscribe with FORBIDDEN', async () => {
    const auth = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`;
    const peer = await Peer.open(url, { authorization: auth });
    if (typeof peer === 'number') throw new Error(`upgrade refused ${peer}`);
    peer.send(produce);
    expect(await peer.reply(1)).toMatchObject({ ok: true });
    peer.send({ op: 'fetch', id: 2, topic: 'orders', partition: 0, offset: 0, maxBytes: 65536 });
    expect(await peer.reply(2)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    peer.send({ op: 'subscribe', id: 3, topic: 'orders', partition: 0, from: 'earliest' });
    expect(await peer.reply(3)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    peer.close();
  });

  it('refuses an upgrade with a wrong password with 401', async () => {
    const auth = `Basic ${Buffer.from('alice:nope').toString('base64')}`;
    expect(await Peer.open(url, { authorization: auth })).toBe(401);
  });

  it('lets a browser authenticate with a token in its first message; a revoked token is refused and closed', async () => {
    const issued = tokens.issue('alice', 60_000);
    const peer = await Peer.open(url);
    if (typeof peer === 'number') throw new Error(`upgrade refused ${peer}`);
    peer.send({ op: 'auth', id: 9, token: issued.token });
    expect(await peer.reply(9)).toMatchObject({ ok: true });
    peer.send(produce);
    expect(await peer.reply(1)).toMatchObject({ ok: true });
    peer.close();

    tokens.revoke(issued.id, issued.expiresAtMs);
    const refused = await Peer.open(url);
    if (typeof refused === 'number') throw new Error(`upgrade refused ${refused}`);
    refused.send({ op: 'auth', id: 9, token: issued.token });
    expect(await refused.reply(9)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect((await refused.closed).reason).toMatch(/^UNAUTHORIZED/);
  });

  it('answers any other first message UNAUTHORIZED and closes', async () => {
    const peer = await Peer.open(url);
    if (typeof peer === 'number') throw new Error(`upgrade refused ${peer}`);
    peer.send(produce);
    expect(await peer.reply(1)).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect((await peer.closed).code).toBe(1008);
  });
});
