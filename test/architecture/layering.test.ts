import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN.md §7: a module depends only on those below it. Each top-level
 * folder of src/ has a rank; an import must go to a lower rank (or to a
 * named peer), and nothing under src/ may import from tools/, test/ or bench/.
 */
const root = resolve(import.meta.dirname, '../..');

const rank: Record<string, number> = {
  common: 0,
  native: 0,
  ring: 1,
  record: 1,
  storage: 2,
  engine: 3,
  groups: 4,
  txn: 4,
  transactions: 4,
  cluster: 4,
  security: 4,
  protocol: 5,
  sql: 5,
  // The replication data path speaks the Kafka protocol to other brokers (a follower fetching), and
  // implements and calls the control plane's interfaces (cluster/partition-state.ts).
  replication: 5.5,
  client: 5,
  server: 6,
  cli: 7,
};

/**
 * Same-level imports allowed by name, one way only: the client speaks the WebSocket protocol's codec;
 * in cluster mode the ACLs and credentials live in etcd, so cluster/'s etcd stores implement
 * security/'s repository interfaces (security/ never imports cluster/).
 */
const peersAllowed: Record<string, readonly string[]> = { client: ['protocol'], cluster: ['security'] };

function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) found.push(path);
  }
  return found;
}

const IMPORT = /(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g;

/** Every relative import in src/, as [importing file, imported path], both relative to the repo. */
function relativeImports(): [string, string][] {
  const pairs: [string, string][] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(IMPORT)) {
      pairs.push([relative(root, file), relative(root, resolve(dirname(file), match[1]!))]);
    }
  }
  return pairs;
}

function moduleOf(path: string): string | null {
  const parts = path.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1]! : null;
}

describe('module layering (DESIGN.md §7)', () => {
  const imports = relativeImports();

  it('finds the imports it checks', () => {
    expect(imports.length).toBeGreaterThan(200);
  });

  it('given any source file under src, should import nothing from outside src', () => {
    const outside = imports.filter(([, target]) => !target.startsWith('src/'));
    expect(outside).toEqual([]);
  });

  it('given every top-level module, should have a rank', () => {
    const unranked = new Set(
      imports.map(([file]) => moduleOf(file)).filter((m) => m !== null && !(m in rank)),
    );
    expect([...unranked]).toEqual([]);
  });

  it('given an allowed peer, should be imported one way only', () => {
    const reverse = imports.filter(([file, target]) => {
      const from = moduleOf(file);
      const to = moduleOf(target);
      return from !== null && to !== null && peersAllowed[to]?.includes(from) === true;
    });
    expect(reverse).toEqual([]);
  });

  it('given an import across modules, should go to a lower layer or an allowed peer', () => {
    const violations = imports.filter(([file, target]) => {
      const from = moduleOf(file);
      const to = moduleOf(target);
      if (from === null || to === null || from === to) return false;
      if (peersAllowed[from]?.includes(to)) return false;
      return (rank[to] ?? 99) >= (rank[from] ?? -1);
    });
    expect(violations).toEqual([]);
  });

  it('given src/protocol, should not import src/server', () => {
    const upward = imports.filter(
      ([file, target]) => file.startsWith('src/protocol/') && target.startsWith('src/server/'),
    );
    expect(upward).toEqual([]);
  });
});
