/**
 * Keeps a long-running instance's database bounded and fast: retention per data kind,
 * WAL checkpoints, `PRAGMA optimize`, and (when configured) vacuuming.
 *
 * Retention rules, each chosen so nothing that stays becomes wrong:
 * - messages older than SENECA_RETENTION_MESSAGES are deleted; `message_rollups` (hourly, per
 *   project and agent) are never deleted, so analytics still answer for those hours. The
 *   full-text index follows through the `messages_fts_ad` trigger (migration 0005), which
 *   removes exactly the rows the indexer already indexed.
 * - events older than SENECA_RETENTION_EVENTS are deleted oldest first in log order and only
 *   as a prefix of the log: the events table stays one contiguous run of seqs, so a realtime
 *   client resuming from a seq that is gone is told `resync_required` (`too_old`, realtime.ts)
 *   rather than silently missing events. The newest SENECA_WS_REPLAY_MAX events are never
 *   deleted, so a replay in progress never loses rows under it. Because a deleted event's id
 *   no longer makes a re-send a duplicate, ingest refuses events older than this horizon
 *   (`retentionHorizon`), which keeps ingest idempotent.
 * - cost events older than SENECA_RETENTION_COST_EVENTS are deleted when the `cost_events`
 *   table exists, up to the start of a UTC month only: the cost rollups (hourly, daily, monthly)
 *   of what is deleted are whole and stay. Re-costing rebuilds rollups from cost events, so it
 *   must leave the periods before `retainedFrom('cost_events')` alone.
 *
 * `retention_state` records, per kind, the time before which rows may be gone.
 *
 * Every delete is a short transaction of at most SENECA_RETENTION_BATCH rows, and the job
 * rests between batches as long as the batch took, so ingest and reads go on while it runs.
 */
import { statSync } from 'node:fs'
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { type SenecaConfig, useConfig } from './config'
import { monthStart } from './costs-projection'
import { type Sqlite, useDatabase } from './db'
import { observeMaintenance, observeRetentionDeleted } from './metrics'

export type RetentionKind = 'messages' | 'events' | 'cost_events'

export type MaintenanceReport = {
  deleted: Record<RetentionKind, number>
  /** Per kind with retention on: rows with `ts` before this may be gone (ISO). */
  deleted_before: Partial<Record<RetentionKind, string>>
  /** Kinds skipped and why (retention off, table absent). */
  skipped: Partial<Record<RetentionKind, string>>
  checkpoint: { busy: number, log: number, checkpointed: number } | null
  vacuum: 'off' | 'incremental' | 'full' | 'skipped'
  duration_ms: number
  database_bytes: number
}

/** Rows looked at per read step of a pass over messages or cost events. */
const SCAN_STEP = 10_000

/** Set when the server stops: a pass in progress ends after its current batch. */
let cancelled = false

/** Stops a pass in progress at its next batch (the server is shutting down). */
export function cancelMaintenance() {
  cancelled = true
}

class Cancelled extends Error {}

/** Whether a pass ended because the server is stopping (not a failure). */
export function isCancelled(error: unknown): boolean {
  return error instanceof Cancelled
}

/**
 * After each write the pass rests as long as the write took (at most 100 ms), so it never has
 * more than about half of the event loop and of the write lock: ingest and reads keep the rest.
 */
async function rest(since: number) {
  const spent = performance.now() - since
  if (spent < 1) await yieldToEventLoop()
  else await sleep(Math.min(100, spent))
  if (cancelled) throw new Cancelled('maintenance cancelled: the server is stopping')
}

/** Rows of `kind` with `ts` before this may have been deleted by retention (0: none were). */
export function retainedFrom(kind: RetentionKind, sqlite: Sqlite = useDatabase().sqlite): number {
  const row = sqlite.prepare('SELECT deleted_before AS t FROM retention_state WHERE kind = ?').get(kind) as { t: number } | undefined
  return row?.t ?? 0
}

function recordRetention(sqlite: Sqlite, kind: RetentionKind, cutoff: number, rows: number) {
  sqlite.prepare(`INSERT INTO retention_state (kind, deleted_before, rows_deleted, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT(kind) DO UPDATE SET deleted_before = max(deleted_before, excluded.deleted_before),
      rows_deleted = rows_deleted + excluded.rows_deleted, updated_at = excluded.updated_at`).run(kind, cutoff, rows, Date.now())
}

/** The oldest event `ts` ingest still accepts (0: events are kept forever). */
export function retentionHorizon(now = Date.now(), config: SenecaConfig = useConfig()): number {
  return config.retention.eventsMs > 0 ? now - config.retention.eventsMs : 0
}

function tableHas(sqlite: Sqlite, table: string, column: string): boolean {
  const cols = sqlite.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]
  return cols.some(c => c.name === column)
}

/** SQLite file plus WAL, in bytes. */
export function databaseBytes(sqlite: Sqlite): { file: number, wal: number } {
  const pages = sqlite.pragma('page_count', { simple: true }) as number
  const pageSize = sqlite.pragma('page_size', { simple: true }) as number
  let wal = 0
  try {
    wal = statSync(`${sqlite.name}-wal`).size
  }
  catch { /* no WAL file (in-memory, or checkpointed away) */ }
  return { file: pages * pageSize, wal }
}

/**
 * Deletes rows of `table` whose `ts` is before `cutoff`, walking the table by rowid in steps:
 * the reads run outside any write transaction (WAL readers block nobody), each delete is one
 * short transaction.
 */
async function deleteOlderThan(sqlite: Sqlite, table: 'messages' | 'cost_events', cutoff: number, batchSize: number): Promise<number> {
  const scan = sqlite.prepare(`SELECT seq, ts FROM ${table} WHERE seq > ? ORDER BY seq LIMIT ?`)
  const remove = sqlite.prepare(`DELETE FROM ${table} WHERE seq IN (SELECT value FROM json_each(?))`)
  let cursor = 0
  let deleted = 0
  for (;;) {
    const rows = scan.all(cursor, SCAN_STEP) as { seq: number, ts: number }[]
    if (!rows.length) break
    cursor = rows.at(-1)!.seq
    const old = rows.filter(r => r.ts < cutoff).map(r => r.seq)
    for (let i = 0; i < old.length; i += batchSize) {
      const started = performance.now()
      deleted += remove.run(JSON.stringify(old.slice(i, i + batchSize))).changes
      await rest(started)
    }
    if (!old.length) await yieldToEventLoop()
  }
  return deleted
}

/** Deletes the oldest events while they are older than `cutoff`, never past `maxSeq - keepNewest`. */
async function pruneEventLog(sqlite: Sqlite, cutoff: number, batchSize: number, keepNewest: number): Promise<number> {
  const head = sqlite.prepare(`SELECT seq, ts FROM events ORDER BY seq LIMIT ?`)
  const latest = sqlite.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM events`)
  const remove = sqlite.prepare(`DELETE FROM events WHERE seq <= ?`)
  let deleted = 0
  for (;;) {
    const limit = (latest.get() as { seq: number }).seq - keepNewest
    const rows = head.all(batchSize) as { seq: number, ts: number }[]
    let upTo = 0
    for (const r of rows) {
      if (r.ts >= cutoff || r.seq > limit) break
      upTo = r.seq
    }
    if (!upTo) break
    const started = performance.now()
    deleted += remove.run(upTo).changes
    await rest(started)
  }
  return deleted
}

let running: Promise<MaintenanceReport> | undefined

/**
 * One maintenance pass: retention for every kind, then a checkpoint (TRUNCATE, so the WAL
 * file shrinks) and the configured vacuum. Concurrent calls share the pass in progress.
 */
export function runMaintenance(options: { now?: number, config?: SenecaConfig, sqlite?: Sqlite } = {}): Promise<MaintenanceReport> {
  if (!running) cancelled = false
  running ??= pass(options).finally(() => {
    running = undefined
  })
  return running
}

async function pass({ now = Date.now(), config = useConfig(), sqlite = useDatabase().sqlite }: { now?: number, config?: SenecaConfig, sqlite?: Sqlite }): Promise<MaintenanceReport> {
  const started = performance.now()
  const { retention, maintenance } = config
  const report: MaintenanceReport = {
    deleted: { messages: 0, events: 0, cost_events: 0 },
    deleted_before: {},
    skipped: {},
    checkpoint: null,
    vacuum: maintenance.vacuum,
    duration_ms: 0,
    database_bytes: 0,
  }
  try {
    const done = (kind: RetentionKind, cutoff: number, rows: number) => {
      report.deleted[kind] = rows
      report.deleted_before[kind] = new Date(cutoff).toISOString()
      recordRetention(sqlite, kind, cutoff, rows)
      observeRetentionDeleted(kind, rows)
    }
    if (retention.messagesMs > 0) {
      const cutoff = now - retention.messagesMs
      done('messages', cutoff, await deleteOlderThan(sqlite, 'messages', cutoff, retention.batchSize))
    }
    else report.skipped.messages = 'retention off'
    if (retention.eventsMs > 0) {
      const cutoff = now - retention.eventsMs
      done('events', cutoff, await pruneEventLog(sqlite, cutoff, retention.batchSize, config.realtimeReplayMax))
    }
    else report.skipped.events = 'retention off'
    if (retention.costEventsMs <= 0) report.skipped.cost_events = 'retention off'
    else if (!tableHas(sqlite, 'cost_events', 'ts')) report.skipped.cost_events = 'no cost_events table'
    else {
      // Whole months only, so the rollups of every deleted period are complete.
      const cutoff = monthStart(now - retention.costEventsMs)
      done('cost_events', cutoff, await deleteOlderThan(sqlite, 'cost_events', cutoff, retention.batchSize))
    }

    const total = report.deleted.messages + report.deleted.events + report.deleted.cost_events
    if (maintenance.vacuum === 'incremental') await incrementalVacuum(sqlite)
    else if (maintenance.vacuum === 'full') {
      // A full VACUUM rewrites the file and blocks writers meanwhile: only when it frees something.
      if (total > 0) sqlite.exec('VACUUM')
      else report.vacuum = 'skipped'
    }
    report.checkpoint = checkpoint(sqlite)
    observeMaintenance('retention', 'ok')
  }
  catch (error) {
    // Stopped between batches: what was deleted is consistent, the rest waits for the next start.
    observeMaintenance('retention', error instanceof Cancelled ? 'cancelled' : 'error')
    throw error
  }
  const size = databaseBytes(sqlite)
  report.database_bytes = size.file + size.wal
  report.duration_ms = Math.round(performance.now() - started)
  return report
}

/** `wal_checkpoint(TRUNCATE)`: copies the WAL into the database and truncates the WAL file. */
export function checkpoint(sqlite: Sqlite = useDatabase().sqlite) {
  const [row] = sqlite.pragma('wal_checkpoint(TRUNCATE)') as { busy: number, log: number, checkpointed: number }[]
  observeMaintenance('checkpoint', row && row.busy === 0 ? 'ok' : 'busy')
  return row ?? null
}

/** Lets SQLite refresh the statistics its query planner uses (cheap; a no-op when nothing changed). */
export function optimize(sqlite: Sqlite = useDatabase().sqlite) {
  sqlite.pragma('optimize')
  observeMaintenance('optimize', 'ok')
}

/** Pages freed per `incremental_vacuum` step, so no single step holds the write lock long. */
const VACUUM_STEP_PAGES = 500

async function incrementalVacuum(sqlite: Sqlite) {
  for (let i = 0; i < 100_000; i++) {
    const free = sqlite.pragma('freelist_count', { simple: true }) as number
    if (free === 0) break
    const started = performance.now()
    sqlite.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`)
    await rest(started)
  }
  observeMaintenance('vacuum', 'ok')
}

/**
 * `SENECA_VACUUM=incremental` needs `auto_vacuum = INCREMENTAL`, which an existing database
 * only takes after one full VACUUM: done once, at start, and logged.
 */
export function prepareVacuumMode(sqlite: Sqlite, mode: SenecaConfig['maintenance']['vacuum']): boolean {
  if (mode !== 'incremental') return false
  if ((sqlite.pragma('auto_vacuum', { simple: true }) as number) === 2) return false
  sqlite.pragma('auto_vacuum = INCREMENTAL')
  sqlite.exec('VACUUM')
  return true
}
