#!/usr/bin/env node
/**
 * Ingest throughput: BENCH_MESSAGES (200,000) `message` events POSTed to /api/ingest in
 * batches of BENCH_BATCH (1,000), BENCH_CONCURRENCY (3) requests in flight.
 *
 * Baseline, same run: a bare better-sqlite3 script inserting the same number of rows (the
 * same message values) into ONE table with one secondary index — WAL, synchronous=NORMAL,
 * one prepared statement, one transaction per BENCH_BATCH rows.
 *
 * Target: events/s ≥ 0.10 × bare rows/s. Also reports the server's RSS after the run.
 * BENCH_CPU_PROF=1 runs the server under `node --cpu-prof` and adds its hot spots.
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import {
  authHeaders, cpuProfArgs, dirSizeMb, envInt, ingestBody, log, machine, messageFactory, postAll, removeDir,
  report, round, startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const N = envInt('BENCH_MESSAGES', 200_000)
const CONVERSATIONS = envInt('BENCH_CONVERSATIONS', 200)
const BATCH = Math.max(1, envInt('BENCH_BATCH', 1000))
const CONCURRENCY = Math.max(1, envInt('BENCH_CONCURRENCY', 3))
const PROFILE = process.env.BENCH_CPU_PROF === '1'
const TIMEOUT_S = envInt('BENCH_TIMEOUT_S', 600)
const TARGET_RATIO = 0.10

const at = messageFactory({ conversations: CONVERSATIONS, idPrefix: 'ing' })
const batches = Math.ceil(N / BATCH)

log(`ingest: generating ${N} message events in ${CONVERSATIONS} conversations (${batches} bodies of ${BATCH})`)
const bodies = []
const rows = []
for (let b = 0; b < batches; b++) {
  const from = b * BATCH
  const to = Math.min(N, from + BATCH)
  bodies.push(Buffer.from(ingestBody(at, from, to)))
  for (let i = from; i < to; i++) {
    const e = at(i)
    rows.push([e.message_id, e.conversation_id, e.project_id, e.sender, e.recipient, e.content, e.message_type, e.ts, JSON.stringify(e.metadata)])
  }
}
const bodyBytes = bodies.reduce((s, b) => s + b.length, 0)

// --- baseline: bare better-sqlite3, one indexed table ---------------------------------
log('ingest: baseline (bare better-sqlite3)')
const bareDir = tempDir('seneca-bench-bare-')
const bareSchema = `CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  project_id TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT, content TEXT NOT NULL, message_type TEXT NOT NULL,
  ts INTEGER NOT NULL, metadata TEXT);
CREATE INDEX messages_conversation_ts_idx ON messages (conversation_id, ts);`
const baseline = (() => {
  const db = new Database(join(bareDir, 'bare.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('cache_size = -65536') // the server's own page cache size
  db.exec(bareSchema)
  const insert = db.prepare(`INSERT INTO messages (id, conversation_id, project_id, sender, recipient, content, message_type, ts, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const tx = db.transaction((from, to) => {
    for (let i = from; i < to; i++) insert.run(rows[i])
  })
  const t0 = performance.now()
  for (let from = 0; from < rows.length; from += BATCH) tx(from, Math.min(rows.length, from + BATCH))
  const ms = performance.now() - t0
  const count = db.prepare('SELECT count(*) AS n FROM messages').get().n
  db.close()
  return { ms, count, sizeMb: round(statSync(join(bareDir, 'bare.db')).size / 1048576, 1) }
})()
removeDir(bareDir)
const bareRate = baseline.count / (baseline.ms / 1000)
log(`ingest: bare ${Math.round(bareRate)} rows/s`)

// --- the server -------------------------------------------------------------------------
const profDir = PROFILE ? tempDir('seneca-bench-prof-') : undefined
const server = await startServer({ nodeArgs: PROFILE ? cpuProfArgs(profDir) : [] })
const rssBefore = server.rss()
const headers = await authHeaders()
log(`ingest: server up in ${Math.round(server.startupMs)} ms (pid ${server.pid}); posting with ${CONCURRENCY} in flight`)

const doneAt = new Array(batches)
const tStart = performance.now()
let lastLog = tStart
const result = await postAll(`${server.url}/api/ingest`, batches, i => bodies[i], {
  concurrency: CONCURRENCY,
  headers,
  timeoutMs: TIMEOUT_S * 1000,
  onProgress: (i) => {
    doneAt[i] = performance.now()
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now()
      log(`ingest: ${doneAt.filter(Boolean).length}/${batches} batches`)
    }
  },
})
const elapsedS = result.ms / 1000
const rssAfter = server.rss()
const eventsPerS = result.stored / elapsedS
// Steady state: the second half of the batches (JIT warm, tables already large).
const half = Math.floor(batches / 2)
const sortedDone = doneAt.filter(Boolean).sort((a, b) => a - b)
const steady = sortedDone.length > 2 && sortedDone.length >= batches ? ((batches - half) * BATCH) / ((sortedDone.at(-1) - sortedDone[half - 1]) / 1000) : null

await server.stop()
const dbSizeMb = dirSizeMb(server.dataDir)
removeDir(server.dataDir)
const profile = PROFILE ? summariseCpuProfiles(profDir, 30) : undefined
if (profDir) removeDir(profDir)

const target = TARGET_RATIO * bareRate
const passes = { events_per_s: result.stored === N && eventsPerS >= target }
report({
  benchmark: 'ingest',
  ...machine(),
  params: { messages: N, conversations: CONVERSATIONS, batch: BATCH, concurrency: CONCURRENCY, request_bytes_total_mb: round(bodyBytes / 1048576, 1) },
  figures: {
    events_per_s: round(eventsPerS, 0),
    steady_events_per_s: round(steady, 0),
    elapsed_s: round(elapsedS, 2),
    stored: result.stored,
    duplicates: result.duplicates,
    rejected: result.rejected,
    http_statuses: result.statuses,
    first_error: result.firstError ?? null,
    timed_out: result.timedOut,
    approx_ms_per_request: round((result.ms / batches) * CONCURRENCY, 1),
    server_rss_before_mb: rssBefore.rss_mb,
    server_rss_after_mb: rssAfter.rss_mb,
    server_peak_rss_mb: rssAfter.peak_rss_mb,
    server_rss_after_anon_mb: rssAfter.rss_anon_mb,
    server_rss_after_file_mb: rssAfter.rss_file_mb,
    server_data_dir_mb: dbSizeMb,
    server_startup_ms: round(server.startupMs, 0),
  },
  baseline: {
    what: 'bare better-sqlite3: same rows into ONE table with one secondary index (conversation_id, ts), WAL, synchronous=NORMAL, cache_size 64 MB (as the server), prepared INSERT, one transaction per batch, in this process',
    rows_per_s: round(bareRate, 0),
    rows: baseline.count,
    elapsed_s: round(baseline.ms / 1000, 2),
    db_size_mb: baseline.sizeMb,
  },
  ratio_to_baseline: round(eventsPerS / bareRate, 3),
  target: { events_per_s_min: round(target, 0), ratio_min: TARGET_RATIO },
  pass: passes,
  passed: Object.values(passes).every(Boolean),
  ...(profile ? { server_profile: profile } : {}),
})
