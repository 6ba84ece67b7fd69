/**
 * Fault proxies as a process of their own, for a checker or a person driving a
 * cluster from outside:
 *
 *   node --import tsx tools/chaos/proxies.ts [--control-port P] --link NAME=[LISTEN_PORT:]TARGET_PORT …
 *
 * starts one proxy per link on 127.0.0.1 (LISTEN_PORT 0 or omitted: a free port) and the control endpoint
 * (fault-control.ts), prints one JSON line `{"controlPort":…,"links":{"NAME":listenPort,…}}` once all listen,
 * and runs until SIGINT or SIGTERM, when it closes everything and exits 0.
 */
import { parseArgs } from 'node:util';
import { startFaultControl } from './fault-control.js';
import { FaultProxy } from './fault-proxy.js';
import { parseLinkSpec } from './link-spec.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'control-port': { type: 'string', default: '0' },
      link: { type: 'string', multiple: true, default: [] },
    },
  });
  const specs = values.link.map(parseLinkSpec);
  if (specs.length === 0) throw new Error('give at least one --link NAME=[LISTEN_PORT:]TARGET_PORT');
  const links = new Map<string, FaultProxy>();
  for (const spec of specs) {
    if (links.has(spec.name)) throw new Error(`link ${spec.name} given twice`);
    links.set(spec.name, await FaultProxy.start({ ...spec, name: spec.name }));
  }
  const control = await startFaultControl(links, { port: Number(values['control-port']) });
  const ports = Object.fromEntries([...links].map(([name, proxy]) => [name, proxy.port]));
  process.stdout.write(`${JSON.stringify({ controlPort: control.port, links: ports })}\n`);
  const shutdown = async (): Promise<void> => {
    await control.close();
    await Promise.all([...links.values()].map((proxy) => proxy.close()));
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      shutdown().catch((error: unknown) => {
        console.error(error);
        process.exit(1);
      });
    });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
});
