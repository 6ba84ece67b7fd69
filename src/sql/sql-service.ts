import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaErrorCode } from '../common/kafka-error-code.js';
import type { Offset } from '../common/offset.js';
import type { Engine } from '../engine/engine-api.js';
import type { TopicScan } from './query-plan.js';
import type { SegmentReadRequest } from './segment-file-loader.js';
import type { QueryResult } from './sql-engine.js';
import { SqlError } from './sql-errors.js';
import type { SqlLimits } from './sql-limits.js';
import { type SqlIsolation, type SqlWorkerPort, startSqlWorker } from './sql-worker-port.js';
import type { FileLoadResult, SqlReply, SqlReplyValue, SqlRequest } from './sql-worker-protocol.js';
import { offsetAfterBatches } from './topic-rows.js';

/**
 * SQL over topics, as the acceptor thread runs it. DuckDB lives in a SQL
 * worker (a child process, or a worker thread); this side plans with it, then
 * has it load each partition the plan needs, up to the high watermark each
 * partition had when the query started (a consistent snapshot): the owning
 * shard says where those offsets lie in its segment files and the worker
 * reads them itself (segment-file-loader.ts), so the bytes never hold the
 * shard or this thread; ranges it cannot read that way are fetched through
 * the engine, as a consumer reads, and handed to the worker. Then it asks for
 * the result. Every query is bounded by the limits in SqlLimits, and a query that
 * times out is interrupted in the worker.
 *
 * Owned by the acceptor thread.
 */
export interface ScanStats {
  /** Records loaded into DuckDB. */
  records: number;
  /** Record batch bytes read from the partitions. */
  bytes: number;
  /** Partitions read (after pruning). */
  partitions: number;
  /** From the first fetch to the last batch loaded. */
  loadMs: number;
  /** Of that, time the SQL worker spent decoding batches into DuckDB tables. */
  decodeMs: number;
  /** Reads through the shards (fetches of up to 1 MiB) and straight from segment files (windows of up to 2 MiB). */
  shardReads: number;
  fileReads: number;
  /** Segments the log cleaner swapped (or retention removed) between the shard naming them and the read. */
  staleSegments: number;
  /**
   * How long the acceptor thread was busy with each read's answer, µs (its
   * continuation: checks, and for a fetch the copy handed to the SQL worker).
   */
  acceptorHoldUs: { p50: number; p99: number; max: number };
}

/** ScanStats while loading, with every read's acceptor hold. */
interface ScanProgress extends ScanStats {
  holdsUs: number[];
}

export interface SqlAnswer extends QueryResult {
  scan: ScanStats;
  elapsedMs: number;
}

export interface ExportRange {
  partition: number | null;
  fromOffset: number;
  toOffset: number;
  fromTimestampMs: number;
  /** Stop at the first record at or after this time (through the time index); -1: no bound. */
  toTimestampMs: number;
}

/** Record batches loaded into the worker ahead of its acknowledgements. */
const LOADS_IN_FLIGHT_MAX = 2;
/**
 * Bytes a query asks of a partition per fetch: small enough that the shard,
 * which serves produces between reads, is never busy long with one read.
 */
const SQL_FETCH_BYTES = 1024 * 1024;

export class SqlService {
  private worker: SqlWorkerPort | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<
    number,
    { resolve: (value: SqlReplyValue) => void; reject: (error: Error) => void }
  >();
  private nextCall = 1;
  private nextQuery = 1;
  private running = 0;
  private closed = false;
  private readonly fetchBytes: number;
  /** Pacing (limits.readBytesPerSecond): when the next read through the engine may start, for all queries. */
  private readAllowedAtMs = 0;

  constructor(
    private readonly engine: Engine,
    private readonly limits: SqlLimits,
    fetchBytesMax: number,
    private readonly isolation: SqlIsolation = 'process',
    /** Read segment files in the SQL worker where the engine names them (false: every read through the shards). */
    private readonly readSegmentFiles = true,
  ) {
    this.fetchBytes = Math.min(SQL_FETCH_BYTES, fetchBytesMax);
  }

  /** Runs one read-only SELECT over the topics; rejects with SqlError. */
  query(sql: string, format: 'json' | 'arrow', checkTopic?: (topic: string) => void): Promise<SqlAnswer> {
    return this.bounded(async (query, isLive) => {
      const startedMs = performance.now();
      const topics = this.engine.listTopics().map((topic) => topic.name);
      const scans = (await this.call({ kind: 'plan', query, sql, topics, forExport: false })) as TopicScan[];
      // Read on each topic the query names (ACLs): checkTopic throws before any record is loaded.
      if (checkTopic !== undefined) for (const scan of scans) checkTopic(scan.topic);
      const scan = await this.loadScans(query, scans, isLive);
      const result = (await this.call({ kind: 'run', query, sql, format })) as QueryResult;
      return { ...result, scan, elapsedMs: Math.round(performance.now() - startedMs) };
    });
  }

  /** A topic (or a range of it) as a Parquet file's bytes. */
  exportParquet(topic: string, range: ExportRange): Promise<Uint8Array> {
    return this.bounded(async (query, isLive) => {
      const sql = `SELECT * FROM "${topic.replaceAll('"', '""')}"`;
      const planned = (await this.call({
        kind: 'plan',
        query,
        sql,
        topics: [topic],
        forExport: true,
      })) as TopicScan[];
      const scans = planned.map((scan) => ({
        ...scan,
        partitions: range.partition === null ? null : [range.partition],
        offsetMin: range.fromOffset,
        offsetEnd: range.toOffset,
        timestampMinMs: range.fromTimestampMs,
        timestampEndMs: range.toTimestampMs,
      }));
      await this.loadScans(query, scans, isLive);
      return (await this.call({ kind: 'export', query, topic })) as Uint8Array;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.failAll(new SqlError('SQL_FAILED', 'the SQL service is stopping'));
    if (worker !== null) await worker.close();
  }

  /** Runs `work` as one query: a slot among concurrentMax, a deadline, and a cancel in the worker on failure. */
  private async bounded<T>(work: (query: number, isLive: () => boolean) => Promise<T>): Promise<T> {
    if (this.closed) throw new SqlError('SQL_FAILED', 'the SQL service is stopped');
    if (this.running >= this.limits.concurrentMax)
      throw new SqlBusyError(
        `${this.running} SQL queries are running, the most allowed at once; retry later`,
      );
    this.running++;
    const query = this.nextQuery++;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    try {
      // The deadline counts from a ready worker: starting DuckDB is not the query's time.
      await this.start();
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new SqlError('SQL_TIMEOUT', `the query took longer than ${this.limits.timeoutMs} ms`));
        }, this.limits.timeoutMs);
      });
      const job = work(query, () => !timedOut);
      job.catch(() => undefined);
      return await Promise.race([job, deadline]);
    } catch (error) {
      // The worker forgets the query (and interrupts DuckDB if it is running it).
      if (this.worker !== null) this.call({ kind: 'cancel', query }).catch(() => undefined);
      throw error;
    } finally {
      clearTimeout(timer);
      this.running--;
    }
  }

  /** Reads every partition range the scans need and loads it into the worker; answers what it read. */
  private async loadScans(
    query: number,
    scans: readonly TopicScan[],
    isLive: () => boolean,
  ): Promise<ScanStats> {
    const startedMs = performance.now();
    const stats: ScanProgress = {
      records: 0,
      bytes: 0,
      partitions: 0,
      loadMs: 0,
      decodeMs: 0,
      shardReads: 0,
      fileReads: 0,
      staleSegments: 0,
      acceptorHoldUs: { p50: 0, p99: 0, max: 0 },
      holdsUs: [],
    };
    for (const scan of scans) {
      const described = await this.engine.describePartitions(scan.topic);
      if (described === undefined) continue;
      for (const partition of described) {
        if (scan.partitions !== null && !scan.partitions.includes(partition.partition)) continue;
        // The snapshot: what was visible when the query started, and nothing after.
        let start = Math.max(partition.logStartOffset, scan.offsetMin);
        let end = Math.min(partition.highWatermark, scan.offsetEnd);
        if (scan.timestampMinMs >= 0 && start < end) {
          const found = await this.engine.listOffsets(scan.topic, partition.partition, scan.timestampMinMs);
          if (found.errorCode === KafkaErrorCode.NONE)
            start = found.offset < 0 ? end : Math.max(start, found.offset);
        }
        if (scan.timestampEndMs >= 0 && start < end) {
          const found = await this.engine.listOffsets(scan.topic, partition.partition, scan.timestampEndMs);
          if (found.errorCode === KafkaErrorCode.NONE && found.offset >= 0) end = Math.min(end, found.offset);
        }
        if (start >= end) continue;
        stats.partitions++;
        await this.loadPartition(query, scan.topic, partition.partition, start, end, stats, isLive);
      }
    }
    stats.loadMs = Math.round(performance.now() - startedMs);
    stats.decodeMs = Math.round(stats.decodeMs);
    const { holdsUs, ...scan } = stats;
    scan.acceptorHoldUs = holdSummary(holdsUs);
    return scan;
  }

  /**
   * Loads [start, end) of one partition: straight from its segment files
   * where the engine says where they are (the shard only answers where; the
   * SQL worker reads and checks the bytes), and through the shard, as a
   * consumer reads, for whatever that could not cover.
   */
  private async loadPartition(
    query: number,
    topic: string,
    partition: number,
    start: number,
    end: number,
    stats: ScanProgress,
    isLive: () => boolean,
  ): Promise<void> {
    let next = start;
    if (this.readSegmentFiles && this.engine.segmentExtents !== undefined)
      next = await this.loadFromFiles(query, topic, partition, start, end, stats, isLive);
    if (next < end && isLive())
      await this.loadThroughShard(query, topic, partition, next, end, stats, isLive);
  }

  /** Loads what it can of [start, end) from segment files; answers the offset it got to. */
  private async loadFromFiles(
    query: number,
    topic: string,
    partition: number,
    start: number,
    end: number,
    stats: ScanProgress,
    isLive: () => boolean,
  ): Promise<number> {
    const askExtents = this.engine.segmentExtents?.bind(this.engine);
    let next = start;
    while (askExtents !== undefined && next < end && isLive()) {
      const asked = await askExtents(topic, partition, next, end);
      // Out of range (retention moved the start), no files, an error: the shard path handles it.
      if (asked.errorCode !== KafkaErrorCode.NONE || asked.extents === null || asked.extents.length === 0)
        return next;
      for (const extent of asked.extents) {
        if (extent.baseOffset >= end || !isLive()) return next;
        const extentEnd = Math.min(end, extent.nextOffset);
        let position = extent.startPosition;
        for (;;) {
          await this.paceRead();
          const paced = this.limits.readBytesPerSecond > 0;
          const read: SegmentReadRequest = {
            extent,
            position,
            fromOffset: next,
            endOffset: extentEnd,
            bytesMax: paced ? this.fetchBytes : this.limits.scanBytesMax - stats.bytes + 1,
          };
          const loaded = (await this.call({
            kind: 'loadFile',
            query,
            topic,
            partition,
            read,
          })) as FileLoadResult;
          const heldFromMs = performance.now();
          if (loaded.stale) {
            // The log cleaner swapped the segment (or retention removed it) since the shard answered.
            stats.staleSegments++;
            this.noteHold(stats, heldFromMs);
            await this.loadThroughShard(query, topic, partition, next, extentEnd, stats, isLive);
            break;
          }
          stats.fileReads++;
          stats.records += loaded.rows;
          stats.decodeMs += loaded.loadMs;
          stats.bytes += loaded.bytes;
          this.chargeRead(loaded.bytes);
          this.checkScanBytes(stats);
          next = Math.max(next, loaded.nextOffset);
          position = loaded.nextPosition;
          this.noteHold(stats, heldFromMs);
          if (loaded.done || !isLive()) break;
        }
        next = Math.max(next, extentEnd);
      }
    }
    return next;
  }

  private async loadThroughShard(
    query: number,
    topic: string,
    partition: number,
    start: number,
    end: number,
    stats: ScanProgress,
    isLive: () => boolean,
  ): Promise<void> {
    const inFlight: Promise<SqlReplyValue>[] = [];
    let next = start;
    while (next < end && isLive()) {
      await this.paceRead();
      if (!isLive()) break;
      const fetched = await this.engine.fetch({
        partitions: [{ topic, partition, offset: next as Offset, maxBytes: this.fetchBytes }],
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: this.fetchBytes,
      });
      const heldFromMs = performance.now();
      const outcome = fetched.partitions[0];
      if (outcome === undefined) break;
      if (outcome.errorCode === KafkaErrorCode.OFFSET_OUT_OF_RANGE && outcome.logStartOffset > next) {
        // Retention removed the start of the range while the query ran: read on from the new start.
        next = outcome.logStartOffset;
        continue;
      }
      if (outcome.errorCode !== KafkaErrorCode.NONE)
        throw new SqlError(
          'SQL_FAILED',
          `cannot read ${topic}-${partition} at offset ${next}: error ${outcome.errorCode}`,
        );
      const after = offsetAfterBatches(outcome.records, next);
      if (after <= next) break;
      stats.bytes += outcome.records.length;
      stats.shardReads++;
      this.chargeRead(outcome.records.length);
      this.checkScanBytes(stats);
      // A SQL process gets a copy as the message is written, before send returns; a thread gets a compact
      // copy of our own, transferred without another.
      const copied = this.worker?.copiesOnSend === true;
      const records = copied ? outcome.records : outcome.records.slice();
      inFlight.push(
        this.call(
          { kind: 'load', query, topic, partition, fromOffset: next, endOffset: end, records },
          copied ? [] : [records.buffer as ArrayBuffer],
        ).then((value) => {
          const loaded = value as { rows: number; loadMs: number };
          stats.records += loaded.rows;
          stats.decodeMs += loaded.loadMs;
          return value;
        }),
      );
      this.noteHold(stats, heldFromMs);
      if (inFlight.length >= LOADS_IN_FLIGHT_MAX) await inFlight.shift();
      next = after;
    }
    await Promise.all(inFlight);
  }

  private checkScanBytes(stats: ScanProgress): void {
    if (stats.bytes > this.limits.scanBytesMax) {
      throw new SqlError(
        'SQL_SCAN_TOO_LARGE',
        `the query would read more than ${this.limits.scanBytesMax} bytes of records; narrow it with WHERE on partition, offset or timestamp`,
      );
    }
  }

  /** Notes how long the acceptor was busy with one read's answer (from `fromMs` until now). */
  private noteHold(stats: ScanProgress, fromMs: number): void {
    stats.holdsUs.push((performance.now() - fromMs) * 1000);
  }

  /** Waits until the read budget allows the next read (no wait when reads are not paced). */
  private async paceRead(): Promise<void> {
    if (this.limits.readBytesPerSecond <= 0) return;
    const waitMs = this.readAllowedAtMs - performance.now();
    if (waitMs > 0) await sleep(waitMs);
  }

  /** Counts bytes read against the budget: the next read waits for them to be paid at readBytesPerSecond. */
  private chargeRead(bytes: number): void {
    if (this.limits.readBytesPerSecond <= 0) return;
    const nowMs = performance.now();
    this.readAllowedAtMs =
      Math.max(this.readAllowedAtMs, nowMs) + (bytes * 1000) / this.limits.readBytesPerSecond;
  }

  private start(): Promise<void> {
    if (this.ready !== null) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      this.pending.set(0, { resolve: () => resolve(), reject });
    });
    this.ready.catch(() => undefined);
    const port = startSqlWorker(this.isolation, this.limits, {
      reply: (reply: SqlReply) => {
        const waiting = this.pending.get(reply.call);
        if (waiting === undefined) return;
        this.pending.delete(reply.call);
        if (reply.ok) waiting.resolve(reply.value);
        else waiting.reject(new SqlError(reply.code, reply.message));
      },
      lost: (reason: string) => {
        if (this.worker !== port) return;
        // Start a fresh worker with the next query; everything waiting on this one fails now.
        this.worker = null;
        this.ready = null;
        this.failAll(new SqlError('SQL_FAILED', `the SQL worker stopped: ${reason}`));
        port.close().catch(() => undefined);
      },
    });
    this.worker = port;
    return this.ready;
  }

  private call(
    request: DistributiveOmit<SqlRequest, 'call'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<SqlReplyValue> {
    const worker = this.worker;
    if (worker === null) return Promise.reject(new SqlError('SQL_FAILED', 'the SQL worker is not running'));
    const call = this.nextCall++;
    return new Promise<SqlReplyValue>((resolve, reject) => {
      this.pending.set(call, { resolve, reject });
      worker.send({ ...request, call } as SqlRequest, transfer);
    });
  }

  private failAll(error: Error): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const { reject } of waiting) reject(error);
  }
}

/** Median, 99th percentile and most of the acceptor's hold per read, µs (rounded; zeros when none). */
function holdSummary(holdsUs: number[]): ScanStats['acceptorHoldUs'] {
  if (holdsUs.length === 0) return { p50: 0, p99: 0, max: 0 };
  holdsUs.sort((a, b) => a - b);
  const at = (quantile: number): number =>
    Math.round(holdsUs[Math.min(holdsUs.length - 1, Math.floor(quantile * holdsUs.length))]!);
  return { p50: at(0.5), p99: at(0.99), max: Math.round(holdsUs[holdsUs.length - 1]!) };
}

/** Too many queries at once: answered 503 so the client retries. */
export class SqlBusyError extends Error {}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
