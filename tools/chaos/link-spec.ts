/** A link for tools/chaos/proxies.ts: its name, the port its proxy listens on (0: any free one) and the target's. */
export interface LinkSpec {
  name: string;
  listenPort: number;
  targetPort: number;
}

/** Parses NAME=[LISTEN_PORT:]TARGET_PORT, e.g. `broker1->etcd2=0:2380` or `b1-b2=9102`. */
export function parseLinkSpec(text: string): LinkSpec {
  const match = /^([A-Za-z0-9_.>-]+)=(?:(\d+):)?(\d+)$/.exec(text);
  if (match === null) throw new Error(`--link ${text}: expected NAME=[LISTEN_PORT:]TARGET_PORT`);
  const listenPort = Number(match[2] ?? 0);
  const targetPort = Number(match[3]);
  if (listenPort > 65_535 || targetPort < 1 || targetPort > 65_535) {
    throw new Error(`--link ${text}: port out of range`);
  }
  return { name: match[1]!, listenPort, targetPort };
}
