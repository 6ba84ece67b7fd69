/**
 * Flags for the Node process that runs the broker, given on its command line
 * because V8 reads them only at start-up (v8.setFlagsFromString later has no
 * effect on the heap's sizing). The `pyralog` bin's shebang and `npm start`
 * spell out the same list (test/cli/broker-node-flags.test.ts checks).
 *
 * --initial-old-space-size=128: Node hands the acceptor a fresh ArrayBuffer
 * for every socket read, and request state lives until its shard replies, so
 * at produce rates of hundreds of MB/s V8's default, small initial old
 * generation ran three to four mark-compacts a second; their concurrent
 * marking took about a fifth of a core on a two-core machine (perf). Starting
 * the old generation at 128 MiB (a limit, not memory taken up front) removes
 * them in steady state: 0 in a 4 s run at ~290 MB/s. The throughput gain was
 * small beside the noise (mean +3% over four interleaved pairs) and latency did
 * not change (bench/RESULTS.md); the CPU the marking threads took goes back to
 * the acceptor and the shards.
 */
export const BROKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
