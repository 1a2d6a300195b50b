#!/usr/bin/env node
/**
 * Realtime fan-out: BENCH_WS_CLIENTS (1,000) WebSocket clients, each subscribed to every
 * conversation of one project, while `message` events are POSTed to /api/ingest at
 * BENCH_WS_PHASES rates (`100:10,2000:10` = 100 msg/s for 10 s, then 2,000 msg/s for 10 s),
 * one POST every BENCH_WS_TICK_MS (20) ms.
 *
 * Latency is ingest→client: the time the benchmark sent the POST (also the event's own `ts`,
 * so it is the message's `timestamp` clients see) to the arrival of the frame carrying the
 * event at the client. Clients run in BENCH_WS_WORKERS (2) worker threads. Each client reads
 * the first and last `seq` of every frame (events of one project arrive in seq order, and the
 * benchmark's events are the only ones, so seqs are contiguous) — enough to count every event
 * exactly, lost or duplicated; BENCH_WS_SAMPLE (20) clients also parse every frame fully and
 * check each event's shape and seq. Per-event latencies come from (frame, seq) pairs and the
 * POST times by seq, computed after the run. Clients offer permessage-deflate as browsers do
 * (BENCH_WS_DEFLATE=0: plain frames), so they inflate what the server compressed.
 *
 * Baseline, same run: a bare `ws` server (own process) sending one ~450-byte text message to
 * the same number of clients in a loop for BENCH_WS_CEILING_S (5) s, skipping a client whose
 * buffer holds more than 64 KB: sends/s is the machine's fan-out ceiling without batching.
 *
 * Targets (the budget): p99 ≤ 100 ms at 100 msg/s, p99 ≤ 250 ms at 2,000 msg/s,
 * zero lost, zero duplicated. Also reports the server's RSS before, with clients, and after.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import {
  authHeaders, cpuProfArgs, envInt, freePort, log, machine, postJson, report, round, sleep, startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const require = createRequire(import.meta.url)

const CLIENTS = envInt('BENCH_WS_CLIENTS', 1000)
const WORKERS = Math.max(1, envInt('BENCH_WS_WORKERS', 2))
const SAMPLE = Math.min(CLIENTS, envInt('BENCH_WS_SAMPLE', 20))
const TICK_MS = Math.max(5, envInt('BENCH_WS_TICK_MS', 20))
const CEILING_S = envInt('BENCH_WS_CEILING_S', 5)
const CONVERSATIONS = envInt('BENCH_WS_CONVERSATIONS', 50)
/** Unmeasured seconds at the first phase's rate after the clients connect (JIT, GC after 1,000 handshakes). */
const WARMUP_S = envInt('BENCH_WS_WARMUP_S', 3)
const PHASES = (process.env.BENCH_WS_PHASES || '100:10,2000:10').split(',').map((p) => {
  const [rate, seconds] = p.split(':').map(Number)
  if (!(rate > 0) || !(seconds > 0)) throw new Error(`BENCH_WS_PHASES: bad phase "${p}" (want rate:seconds)`)
  return { rate, seconds }
})
const TARGET_P99_MS = { 100: 100, 2000: 250 }
const PROJECT = 'ws-bench'
const PROFILE = process.env.BENCH_CPU_PROF === '1'
/** Clients offer permessage-deflate, as browsers do (`0`: plain frames only). */
const DEFLATE = process.env.BENCH_WS_DEFLATE !== '0'
/**
 * `once` (default): a worker inflates a byte-identical compressed message once for all its
 * clients (see the worker); `each`: every client inflates every message itself.
 */
const INFLATE = process.env.BENCH_WS_INFLATE || 'once'
if (INFLATE !== 'once' && INFLATE !== 'each') throw new Error(`BENCH_WS_INFLATE: "${INFLATE}" (want once or each)`)
const INFLATE_ONCE = INFLATE === 'once'

function percentiles(hist, total) {
  const at = (q) => {
    const rank = Math.ceil(q * total)
    let seen = 0
    for (let ms = 0; ms < hist.length; ms++) {
      seen += hist[ms]
      if (seen >= rank) return ms
    }
    return hist.length - 1
  }
  return total ? { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) } : { p50: null, p95: null, p99: null, max: null }
}

// ---------------------------------------------------------------------------------------
// Client workers

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads')
const WebSocket = require(workerData.wsPath)
const { url, count, sample, subscribe, deflate, inflateOnce } = workerData
if (deflate) {
  // Inflate each message synchronously, as a browser does natively. ws's own inflate runs
  // through an asynchronous queue (10 at a time on the thread pool) that, at 1,000 clients in
  // two threads, would make the clients the bottleneck. The server compresses every message on
  // its own (server_no_context_takeover, checked at connect), so no state spans messages.
  //
  // The server sends one group the same compressed bytes (its frame is deflated once), so with
  // inflateOnce a worker inflates a byte-identical message once and hands the result to each
  // of its clients that receives it: the rig does not spend its CPU — the machine's, shared
  // with the server — inflating the same bytes 500 times, work each browser does on its own
  // CPU. Each client still receives its own frame on its own socket and reads it itself.
  const zlib = require('node:zlib')
  const inflated = []
  const PerMessageDeflate = require(workerData.pmdPath)
  PerMessageDeflate.prototype.decompress = function (data, fin, callback) {
    (this._benchParts ??= []).push(data)
    if (!fin) return queueMicrotask(() => callback(null, Buffer.alloc(0)))
    const input = this._benchParts.length === 1 ? this._benchParts[0] : Buffer.concat(this._benchParts)
    this._benchParts = []
    let out = inflateOnce ? inflated.find(e => e.input.equals(input))?.out : undefined
    if (!out) {
      try { out = zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH }) }
      catch (error) { return queueMicrotask(() => callback(error)) }
      if (inflateOnce) {
        inflated.unshift({ input, out })
        if (inflated.length > 8) inflated.pop()
      }
    }
    queueMicrotask(() => callback(null, out))
  }
}
const SEQ = Buffer.from('"seq":')
const clients = []

function seqAt(buf, at) {
  let n = 0
  for (let i = at + SEQ.length; i < buf.length; i++) {
    const c = buf[i]
    if (c < 48 || c > 57) break
    n = n * 10 + (c - 48)
  }
  return n
}

function makeClient(index) {
  const c = {
    index, full: index < sample, ready: false, expectNext: 0, received: 0, duplicates: 0, lost: 0, frames: 0,
    log: new Float64Array(3 * 256), logLen: 0, shapeErrors: 0, firstError: null, tsLatencies: [], closed: null, resync: null,
  }
  const ws = new WebSocket(url, { perMessageDeflate: deflate })
  c.ws = ws
  ws.on('message', (data) => {
    const now = Date.now()
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
    const first = buf.indexOf(SEQ)
    if (first < 0) {
      const msg = JSON.parse(buf.toString())
      const pmd = ws._extensions['permessage-deflate']
      if (pmd && !pmd.params.server_no_context_takeover) c.firstError ??= 'deflate without server_no_context_takeover'
      if (subscribe && msg.event === 'connection_established') ws.send(JSON.stringify({ event: 'subscribe', data: subscribe }))
      else if (msg.event === 'subscription_confirmed' || msg.event === 'ready') c.ready = true
      else if (msg.event === 'resync_required') c.resync = msg.data.reason
      else if (msg.event === 'error') { c.firstError ??= msg; c.shapeErrors++ }
      return
    }
    const from = seqAt(buf, first)
    const to = seqAt(buf, buf.lastIndexOf(SEQ))
    c.frames++
    if (c.expectNext === 0) c.expectNext = from
    if (from < c.expectNext) c.duplicates += Math.min(to, c.expectNext - 1) - from + 1
    else if (from > c.expectNext) c.lost += from - c.expectNext
    const fresh = to - Math.max(from, c.expectNext) + 1
    if (fresh > 0) c.received += fresh
    c.expectNext = Math.max(c.expectNext, to + 1)
    if (c.logLen + 3 > c.log.length) { const bigger = new Float64Array(c.log.length * 2); bigger.set(c.log); c.log = bigger }
    c.log[c.logLen++] = from; c.log[c.logLen++] = to; c.log[c.logLen++] = now
    if (c.full) {
      const msg = JSON.parse(buf.toString())
      const events = msg.event === 'batch' ? msg.data.events : [msg]
      let expect = from
      for (const e of events) {
        const ok = e.seq === expect++ && (e.event === 'conversation_message' || e.event === 'raw')
          && (e.event === 'raw' || (e.channel === 'conversations' && typeof e.data.message.content === 'string'))
        if (!ok) { c.shapeErrors++; c.firstError ??= { seq: e.seq, expected: expect - 1, event: e.event } }
        if (e.event === 'conversation_message') c.tsLatencies.push(now - Date.parse(e.data.message.timestamp))
      }
      if (expect - 1 !== to) { c.shapeErrors++; c.firstError ??= { frame_from: from, frame_to: to, events: events.length } }
    }
  })
  ws.on('close', (code) => { c.closed = code })
  ws.on('error', (error) => { c.firstError ??= String(error.message) })
  return c
}

parentPort.on('message', async (cmd) => {
  if (cmd === 'connect') {
    for (let i = 0; i < count; i += 25) {
      for (let j = i; j < Math.min(count, i + 25); j++) clients.push(makeClient(j))
      await new Promise(r => setTimeout(r, 15))
    }
    const deadline = Date.now() + 60000
    while (Date.now() < deadline && clients.some(c => !c.ready && c.closed === null)) await new Promise(r => setTimeout(r, 50))
    parentPort.postMessage({ type: 'connected', ready: clients.filter(c => c.ready).length, errors: clients.filter(c => c.firstError).slice(0, 3).map(c => c.firstError) })
  }
  else if (cmd === 'results') {
    parentPort.postMessage({ type: 'results', clients: clients.map(c => ({
      received: c.received, duplicates: c.duplicates, lost: c.lost, frames: c.frames, expectNext: c.expectNext,
      log: c.log.slice(0, c.logLen), full: c.full, shapeErrors: c.shapeErrors, firstError: c.firstError, tsLatencies: c.tsLatencies, closed: c.closed, resync: c.resync,
    })) })
  }
  else if (cmd === 'close') {
    for (const c of clients) c.ws.terminate()
    parentPort.postMessage({ type: 'closed' })
  }
})
`

function startWorkers(url, subscribe) {
  const per = Math.ceil(CLIENTS / WORKERS)
  const workers = []
  let sampleLeft = SAMPLE
  for (let w = 0; w < WORKERS; w++) {
    const count = Math.min(per, CLIENTS - w * per)
    if (count <= 0) break
    const sample = Math.min(sampleLeft, count)
    sampleLeft -= sample
    workers.push(new Worker(workerCode, { eval: true, workerData: { wsPath: require.resolve('ws'), pmdPath: path.join(path.dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js'), url, count, sample, subscribe, deflate: DEFLATE, inflateOnce: INFLATE_ONCE } }))
  }
  const ask = (cmd, type) => Promise.all(workers.map(w => new Promise((resolve) => {
    const on = (m) => {
      if (m.type === type) {
        w.off('message', on)
        resolve(m)
      }
    }
    w.on('message', on)
    w.postMessage(cmd)
  })))
  return {
    connect: () => ask('connect', 'connected'),
    results: () => ask('results', 'results'),
    close: async () => {
      await ask('close', 'closed')
      await Promise.all(workers.map(w => w.terminate()))
    },
  }
}

// ---------------------------------------------------------------------------------------
// Baseline: a bare `ws` server's fan-out ceiling

/** `eventsPerFrame` events of ~470 bytes per text frame (1: single events; 100: batch frames). */
async function rawCeiling(eventsPerFrame) {
  const port = await freePort()
  const code = `
    const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))})
    const wss = new WebSocketServer({ port: ${port}, host: '127.0.0.1', perMessageDeflate: false })
    wss.on('connection', ws => ws.send('{"event":"ready","data":{}}'))
    const one = { event: 'raw', channel: 'conversations', seq: 1, data: { conversation_id: 'conv-1', message: { id: 'm', content: 'x'.repeat(340) } } }
    const n = ${eventsPerFrame}
    const payload = Buffer.from(JSON.stringify(n === 1 ? one : { event: 'batch', data: { events: Array.from({ length: n }, (_, i) => ({ ...one, seq: i + 1 })) } }))
    process.on('message', ({ seconds }) => {
      let sends = 0
      let skipped = 0
      const started = Date.now()
      const end = started + seconds * 1000
      const round = () => {
        if (Date.now() >= end) return process.send({ sends, skipped, ms: Date.now() - started })
        for (const c of wss.clients) {
          if (c.bufferedAmount > 65536) { skipped++; continue }
          c.send(payload, { binary: false })
          sends++
        }
        setImmediate(round)
      }
      round()
    })
  `
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await sleep(500)
  const clients = startWorkers(`ws://127.0.0.1:${port}`, null)
  const connected = await clients.connect()
  const ready = connected.reduce((s, c) => s + c.ready, 0)
  log(`baseline: ${ready} clients on a bare ws server; ${eventsPerFrame} event(s) per frame for ${CEILING_S} s`)
  const done = new Promise(r => child.once('message', r))
  child.send({ seconds: CEILING_S })
  const { sends, skipped, ms } = await done
  await sleep(300)
  const results = await clients.results()
  const received = results.flatMap(r => r.clients).reduce((s, c) => s + c.frames, 0)
  await clients.close()
  child.kill('SIGTERM')
  return {
    what: `bare ws server (own process): the same text frame of ${eventsPerFrame} ~470-byte event(s) to each of ${ready} clients in a loop, skipping clients with >64 KB queued`,
    clients: ready,
    events_per_frame: eventsPerFrame,
    sends_per_s: round(sends / (ms / 1000), 0),
    frames_received_per_s: round(received / (ms / 1000), 0),
    events_delivered_per_s: round((received * eventsPerFrame) / (ms / 1000), 0),
    skipped_full_buffer: skipped,
    seconds: round(ms / 1000, 1),
  }
}

// ---------------------------------------------------------------------------------------
// The run

log(`websocket: raw fan-out ceiling with ${CLIENTS} clients`)
const baselineSingle = await rawCeiling(1)
log(`baseline: ${baselineSingle.sends_per_s} sends/s of single events`)
const baselineBatch = await rawCeiling(100)
log(`baseline: ${baselineBatch.sends_per_s} sends/s of 100-event frames (${baselineBatch.events_delivered_per_s} events/s)`)

const profileDir = PROFILE ? tempDir('seneca-bench-prof-') : null
const server = await startServer({ env: { SENECA_WS_MAX_CONNECTIONS: String(CLIENTS + 100) }, nodeArgs: PROFILE ? cpuProfArgs(profileDir) : [] })
const headers = await authHeaders()
const token = headers.authorization?.slice('Bearer '.length)
const rssIdle = server.rss()
const wsUrl = `${server.url.replace('http', 'ws')}/api/ws?token=${encodeURIComponent(token ?? '')}`
const clients = startWorkers(wsUrl, { channels: ['conversations'], filters: { project_id: PROJECT } })
const connectStarted = performance.now()
const connected = await clients.connect()
const ready = connected.reduce((s, c) => s + c.ready, 0)
log(`seneca: ${ready}/${CLIENTS} clients subscribed in ${round((performance.now() - connectStarted) / 1000, 1)} s`)
if (ready < CLIENTS) log(`seneca: first client errors: ${JSON.stringify(connected.flatMap(c => c.errors).slice(0, 3))}`)
await sleep(500)
const rssConnected = server.rss()

const sendTime = new Map()
let nextIndex = 0
const statuses = {}
let postErrors = 0
let firstPostError = null
const phaseResults = []
let inFlight = 0
let maxInFlight = 0
/** POST round trips (ms) of the phase running: the ingest side of the latency. */
let postTimes = []
let warmup = null

function messageAt(i, now) {
  const c = i % CONVERSATIONS
  return {
    kind: 'message', message_id: `wsb-${i}`, project_id: PROJECT, conversation_id: `conv-${c}`, conversation_type: 'worker',
    sender: i % 2 ? `agent-${c}` : 'marcus', recipient: i % 2 ? 'marcus' : `agent-${c}`, message_type: i % 5 ? 'message' : 'status',
    content: `progress on task ${i}: checked the schema, ran the tests, all green; moving on to the next step of the plan`,
    metadata: { task_id: `task-${c}` }, ts: now,
  }
}

async function post(events, sentAt) {
  inFlight++
  maxInFlight = Math.max(maxInFlight, inFlight)
  try {
    const res = await postJson(`${server.url}/api/ingest`, JSON.stringify({ events }), { headers })
    postTimes.push(Date.now() - sentAt)
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
    if (res.status !== 200) {
      postErrors++
      firstPostError ??= `HTTP ${res.status}: ${res.text.slice(0, 300)}`
      return
    }
    for (const r of JSON.parse(res.text).results) if (r.seq !== undefined) sendTime.set(r.seq, sentAt)
  }
  catch (error) {
    postErrors++
    firstPostError ??= String(error.message)
  }
  finally {
    inFlight--
  }
}

const pending = []
const runPhases = WARMUP_S ? [{ rate: PHASES[0].rate, seconds: WARMUP_S, warmup: true }, ...PHASES] : PHASES
for (const phase of runPhases) {
  log(`seneca: ${phase.rate} msg/s for ${phase.seconds} s`)
  const started = Date.now()
  const end = started + phase.seconds * 1000
  const firstIndex = nextIndex
  let sent = 0
  while (Date.now() < end) {
    // Catch up with the schedule: the number due by now, whatever the timer drift.
    const due = Math.floor(((Date.now() - started) / 1000) * phase.rate) - sent
    if (due > 0) {
      const now = Date.now()
      const events = []
      for (let k = 0; k < due; k++) events.push(messageAt(nextIndex++, now))
      sent += due
      pending.push(post(events, now))
    }
    await sleep(TICK_MS)
  }
  const scheduleEnded = Date.now()
  await Promise.all(pending.splice(0))
  const postHist = new Uint32Array(60_001)
  for (const ms of postTimes) postHist[Math.min(60_000, ms)]++
  const result = { ...phase, firstIndex, lastIndex: nextIndex - 1, sent, elapsed_s: (scheduleEnded - started) / 1000, post_ms: percentiles(postHist, postTimes.length), posts: postTimes.length }
  postTimes = []
  if (phase.warmup) warmup = result
  else phaseResults.push(result)
  await sleep(1000)
}
await sleep(2000)
const rssAfter = server.rss()

const results = (await clients.results()).flatMap(r => r.clients)
await clients.close()
await sleep(1000)
const rssClosed = server.rss()
await server.stop()
const profile = PROFILE ? summariseCpuProfiles(profileDir) : null

// Per phase: seq ranges from the POST answers. Phases are apart (each waits for its POSTs), so
// the first `warmup.sent` seqs are the warm-up's, the next `sent` the first phase's, and so on.
const seqs = [...sendTime.keys()].sort((a, b) => a - b)
const stored = seqs.length
const phaseOfSeq = new Map()
const phaseStart = []
{
  let k = warmup ? warmup.sent : 0
  for (const [p, phase] of phaseResults.entries()) {
    phaseStart[p] = sendTime.get(seqs[k]) ?? 0
    for (let i = 0; i < phase.sent && k < seqs.length; i++) phaseOfSeq.set(seqs[k++], p)
  }
}
const hists = phaseResults.map(() => new Uint32Array(60_001))
const counts = phaseResults.map(() => 0)
// p99 per second of sending, to tell a warm-up or a periodic stall from a steady cost.
const bySecond = phaseResults.map(() => new Map())
let frames = 0
for (const c of results) {
  frames += c.frames
  for (let i = 0; i < c.log.length; i += 3) {
    const [from, to, at] = [c.log[i], c.log[i + 1], c.log[i + 2]]
    for (let seq = from; seq <= to; seq++) {
      const sentAt = sendTime.get(seq)
      const p = phaseOfSeq.get(seq)
      if (sentAt === undefined || p === undefined) continue
      const latency = Math.min(60_000, Math.max(0, at - sentAt))
      hists[p][latency]++
      counts[p]++
      const second = Math.floor((sentAt - phaseStart[p]) / 1000)
      let h = bySecond[p].get(second)
      if (!h) bySecond[p].set(second, (h = { hist: new Uint32Array(60_001), n: 0 }))
      h.hist[latency]++
      h.n++
    }
  }
}
const firstSeq = seqs[0]
const lastSeq = seqs.at(-1)
let lost = 0
let undeliveredAfterResync = 0
let resynced = 0
let duplicates = 0
let shapeErrors = 0
for (const c of results) {
  duplicates += c.duplicates
  // Missed before the first frame, inside (gaps), and after the last one.
  const missing = c.lost + (c.expectNext === 0 ? stored : Math.max(0, (c.log[0] ?? firstSeq) - firstSeq) + Math.max(0, lastSeq + 1 - c.expectNext))
  // A client the server closed (as too slow: resync_required, or cut off while far behind) must
  // resume like after any drop: what it missed is not a silent loss.
  if (c.resync || c.closed !== null) {
    resynced++
    undeliveredAfterResync += missing
  }
  else lost += missing
  shapeErrors += c.shapeErrors
}
const sampleTs = results.filter(c => c.full).flatMap(c => c.tsLatencies)
const tsHist = new Uint32Array(60_001)
for (const l of sampleTs) tsHist[Math.min(60_000, Math.max(0, l))]++

const phases = phaseResults.map((phase, p) => {
  const lat = percentiles(hists[p], counts[p])
  const target = TARGET_P99_MS[phase.rate]
  return {
    rate_msg_per_s: phase.rate,
    seconds: phase.seconds,
    messages_sent: phase.sent,
    achieved_msg_per_s: round(phase.sent / phase.elapsed_s, 0),
    deliveries: counts[p],
    latency_ms: lat,
    /** Of that: the POST /api/ingest round trip (sent → answered), per request. */
    ingest_post_ms: phase.post_ms,
    posts: phase.posts,
    p99_ms_by_second: [...bySecond[p].entries()].sort((a, b) => a[0] - b[0]).map(([, h]) => percentiles(h.hist, h.n).p99),
    target_p99_ms: target ?? null,
    pass_p99: target === undefined ? null : lat.p99 !== null && lat.p99 <= target,
  }
})
const totalDeliveries = counts.reduce((a, b) => a + b, 0)
const pass = {
  all_clients_subscribed: ready === CLIENTS,
  all_events_stored: stored === nextIndex && postErrors === 0,
  zero_lost: lost === 0,
  no_client_dropped_as_slow: resynced === 0,
  zero_duplicated: duplicates === 0,
  shapes_and_order_on_sampled_clients: shapeErrors === 0,
  server_rss_growth_at_most_200_mb: rssAfter.rss_mb - rssConnected.rss_mb <= 200,
  ...Object.fromEntries(phases.filter(p => p.pass_p99 !== null).map(p => [`p99_at_${p.rate_msg_per_s}_msg_per_s`, p.pass_p99])),
}

report({
  benchmark: 'websocket',
  ...machine(),
  params: { clients: CLIENTS, workers: WORKERS, clients_offer_deflate: DEFLATE, inflate: DEFLATE ? INFLATE : null, sampled_full_parse_clients: SAMPLE, phases: PHASES, warmup_s: WARMUP_S, tick_ms: TICK_MS, conversations: CONVERSATIONS, project: PROJECT },
  figures: {
    clients_subscribed: ready,
    messages_stored: stored,
    post_errors: postErrors,
    first_post_error: firstPostError,
    http_statuses: statuses,
    max_posts_in_flight: maxInFlight,
    phases,
    deliveries_total: totalDeliveries,
    deliveries_expected: stored * CLIENTS,
    /** Events missing on clients that stayed connected: silent loss. */
    lost,
    duplicated: duplicates,
    /** Clients the server dropped (too slow: bounded send buffer), and what they had not received; they would resume. */
    clients_dropped_as_slow: resynced,
    clients_dropped_that_saw_resync_required: results.filter(c => c.resync).length,
    undelivered_to_dropped_clients: undeliveredAfterResync,
    sampled_clients_shape_or_order_errors: shapeErrors,
    first_client_error: results.find(c => c.firstError)?.firstError ?? null,
    clients_closed_by_server: results.filter(c => c.closed !== null).length,
    frames_received: frames,
    events_per_frame: round(totalDeliveries / Math.max(1, frames), 1),
    latency_from_event_timestamp_sampled_ms: percentiles(tsHist, sampleTs.length),
    server_rss_idle_mb: rssIdle.rss_mb,
    server_rss_with_clients_mb: rssConnected.rss_mb,
    server_rss_after_load_mb: rssAfter.rss_mb,
    server_rss_after_clients_left_mb: rssClosed.rss_mb,
    server_peak_rss_mb: rssAfter.peak_rss_mb,
    server_rss_growth_during_load_mb: round(rssAfter.rss_mb - rssConnected.rss_mb, 1),
  },
  baseline: { single_events: baselineSingle, batch_frames: baselineBatch },
  events_delivered_per_s_seneca: round(totalDeliveries / phaseResults.reduce((s, p) => s + p.elapsed_s, 0), 0),
  target: { p99_ms: TARGET_P99_MS, lost: 0, duplicated: 0, server_rss_growth_mb_max: 200 },
  pass,
  passed: Object.values(pass).every(Boolean),
  ...(profile ? { server_profile: profile } : {}),
})
process.exit(0)
