/** Real etcd members for tests: tools/etcd-members.ts (shared with the chaos checker and the benches). */
export * from '../../tools/etcd-members.js';
