#!/usr/bin/env node
/**
 * Retention under load: how fast a retention pass deletes old messages (with their full-text
 * index entries) and what it costs the ingest that goes on meanwhile.
 *
 * 1. BENCH_RETENTION_OLD (100,000) messages 9 months old and BENCH_RETENTION_RECENT (10,000)
 *    recent ones are loaded into a server with retention off.
 * 2. Without retention: steady ingest of recent messages (batches of 100, 2 in flight) for
 *    BENCH_DURATION_S (10) s — ingest throughput and latency without a pass.
 * 3. The server restarts on the same data with SENECA_RETENTION_MESSAGES=30d and
 *    SENECA_VACUUM=incremental; POST /api/admin/maintenance runs a pass while the same steady
 *    ingest goes on — its throughput and latency during the pass, and the pass's rows/s.
 *
 * Baseline, same run: bare better-sqlite3 deleting the same rows from one table with one index
 * and the same full-text index and trigger, in one `DELETE … WHERE ts < ?` (no batching, no
 * resting, no ingest alongside).
 *
 * Targets: ingest during the pass ≥ 0.5 × ingest without it; the pass deletes more rows per
 * second than the ingest alongside adds (so retention keeps up even with both flat out). The
 * bare rate is reported next to the pass's (`rows_vs_bare`): the pass rests half of the time by
 * design and gives way to the ingest.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { authHeaders, envInt, getJson, ingestBody, log, machine, messageFactory, postAll, postJson, removeDir, report, round, sleep, startServer, tempDir } from './lib.mjs'

const OLD = envInt('BENCH_RETENTION_OLD', 100_000)
const RECENT = envInt('BENCH_RETENTION_RECENT', 10_000)
const DURATION_S = envInt('BENCH_DURATION_S', 10)
const LOAD_BATCH = 1000
const STEADY_BATCH = 100

const oldAt = messageFactory({ idPrefix: 'old', startTs: Date.now() - 270 * 86_400_000, stepMs: 10 })
const recentAt = messageFactory({ idPrefix: 'recent', startTs: Date.now() - 3_600_000, stepMs: 1 })
let steadyNext = 0
const steadyFactory = messageFactory({ idPrefix: 'steady' })
const steadyAt = i => ({ ...steadyFactory(i), ts: Date.now() })

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null
}

/** Sends batches of recent messages, 2 in flight, until `until()` says stop; latency per request. */
async function steadyIngest(url, headers, until) {
  const latencies = []
  let stored = 0
  const t0 = performance.now()
  const worker = async () => {
    while (!until()) {
      const from = steadyNext
      steadyNext += STEADY_BATCH
      const events = Array.from({ length: STEADY_BATCH }, (_, k) => steadyAt(from + k))
      const started = performance.now()
      const res = await postJson(`${url}/api/ingest`, JSON.stringify({ events }), { headers, maxSockets: 2 })
      latencies.push(performance.now() - started)
      if (res.status === 200) stored += JSON.parse(res.text).stored
    }
  }
  await Promise.all([worker(), worker()])
  const seconds = (performance.now() - t0) / 1000
  latencies.sort((a, b) => a - b)
  return { events_per_s: round(stored / seconds, 0), stored, seconds: round(seconds, 2), p50_ms: round(percentile(latencies, 50), 1), p99_ms: round(percentile(latencies, 99), 1), max_ms: round(latencies.at(-1), 1) }
}

// --- baseline: bare delete ----------------------------------------------------------------
log(`retention: baseline (bare better-sqlite3 delete of ${OLD} rows)`)
const bareDir = tempDir('seneca-bench-bare-')
const bare = (() => {
  const db = new Database(join(bareDir, 'bare.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(`CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, conversation_id TEXT NOT NULL, content TEXT NOT NULL, ts INTEGER NOT NULL);
    CREATE INDEX messages_conversation_ts_idx ON messages (conversation_id, ts);
    CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
    CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
      INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.seq, old.content);
    END;`)
  const insert = db.prepare('INSERT INTO messages (id, conversation_id, content, ts) VALUES (?, ?, ?, ?)')
  db.transaction(() => {
    for (let i = 0; i < OLD; i++) {
      const e = oldAt(i)
      insert.run(e.message_id, e.conversation_id, e.content, e.ts)
    }
    for (let i = 0; i < RECENT; i++) {
      const e = recentAt(i)
      insert.run(e.message_id, e.conversation_id, e.content, e.ts)
    }
  })()
  db.exec(`INSERT INTO messages_fts (rowid, content) SELECT seq, content FROM messages`)
  const t0 = performance.now()
  const deleted = db.prepare('DELETE FROM messages WHERE ts < ?').run(Date.now() - 30 * 86_400_000).changes
  const ms = performance.now() - t0
  db.close()
  return { deleted, ms }
})()
removeDir(bareDir)
const bareRate = bare.deleted / (bare.ms / 1000)
log(`retention: bare ${Math.round(bareRate)} rows/s`)

// --- load -----------------------------------------------------------------------------------
const headers = await authHeaders()
const dataDir = tempDir('seneca-bench-retention-')
let server = await startServer({ dataDir })
log(`retention: loading ${OLD} old and ${RECENT} recent messages`)
const oldBatches = Math.ceil(OLD / LOAD_BATCH)
const load = await postAll(`${server.url}/api/ingest`, oldBatches + Math.ceil(RECENT / LOAD_BATCH), (b) => {
  if (b < oldBatches) return ingestBody(oldAt, b * LOAD_BATCH, Math.min(OLD, (b + 1) * LOAD_BATCH))
  const r = b - oldBatches
  return ingestBody(recentAt, r * LOAD_BATCH, Math.min(RECENT, (r + 1) * LOAD_BATCH))
}, { concurrency: 2, headers })
if (load.stored !== OLD + RECENT) throw new Error(`load stored ${load.stored} of ${OLD + RECENT}: ${load.firstError}`)
// Let the full-text index catch up, so the pass deletes indexed rows (the costly case).
for (let i = 0; i < 600; i++) {
  const res = await getJson(`${server.url}/api/conversations/search?q=task&limit=1`, { headers, timeoutMs: 120_000 })
  if (res.status === 200 && !res.body.partial) break
  await sleep(500)
}

// --- without a pass ---------------------------------------------------------------------------
log(`retention: ${DURATION_S} s of steady ingest without retention`)
const endAt = performance.now() + DURATION_S * 1000
const without = await steadyIngest(server.url, headers, () => performance.now() > endAt)
await server.stop()

// --- during a pass ----------------------------------------------------------------------------
server = await startServer({ dataDir, env: { SENECA_RETENTION_MESSAGES: '30d', SENECA_RETENTION_INTERVAL_MS: '86400000', SENECA_VACUUM: 'incremental' } })
const sizeBefore = (await getJson(`${server.url}/metrics`, { headers })).body.match(/^database_size_bytes (\d+)/m)?.[1]
log('retention: a retention pass with steady ingest alongside')
let passDone = false
const passPromise = postJson(`${server.url}/api/admin/maintenance`, '{}', { headers, maxSockets: 1, timeoutMs: 1_800_000 }).finally(() => (passDone = true))
const during = await steadyIngest(server.url, headers, () => passDone)
const pass = JSON.parse((await passPromise).text)
const sizeAfter = (await getJson(`${server.url}/metrics`, { headers })).body.match(/^database_size_bytes (\d+)/m)?.[1]
await server.stop()
removeDir(dataDir)

const passRate = pass.deleted?.messages / (pass.duration_ms / 1000)
const passes = {
  ingest_during_pass: during.events_per_s >= 0.5 * without.events_per_s,
  delete_rows_per_s: pass.deleted?.messages === OLD && passRate >= during.events_per_s,
}
report({
  benchmark: 'retention',
  ...machine(),
  params: { old_messages: OLD, recent_messages: RECENT, steady_batch: STEADY_BATCH, steady_in_flight: 2, duration_s: DURATION_S, retention_batch: 500 },
  figures: {
    pass: { deleted: pass.deleted, duration_ms: pass.duration_ms, rows_per_s: round(passRate, 0), rows_vs_bare: round(passRate / bareRate, 3), vacuum: pass.vacuum },
    database_bytes_before: Number(sizeBefore), database_bytes_after: Number(sizeAfter),
    ingest_without_pass: without,
    ingest_during_pass: during,
    ingest_ratio: round(during.events_per_s / without.events_per_s, 2),
  },
  baseline: {
    what: 'bare better-sqlite3: the same old rows deleted from ONE table with one index (conversation_id, ts) and the same external-content FTS5 index with its delete trigger, by one DELETE … WHERE ts < ? (no batching, no resting, nothing else running), in this process',
    rows_per_s: round(bareRate, 0),
    deleted: bare.deleted,
    elapsed_ms: round(bare.ms, 1),
  },
  targets: { ingest_during_pass: '≥ 0.5 × ingest without a pass', delete_rows_per_s: '≥ the events/s of the ingest going on alongside (retention keeps up with what arrives), every old message deleted' },
  pass: passes,
  passed: Object.values(passes).every(Boolean),
})
