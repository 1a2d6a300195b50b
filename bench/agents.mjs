#!/usr/bin/env node
/**
 * Agent health at fleet size: BENCH_AGENTS (500) agents heartbeating every
 * BENCH_AGENTS_INTERVAL_MS (5,000) ms — `POST /api/agents/{id}/heartbeat`, each agent with its
 * own ingest-role JWT, spread evenly over the interval — while BENCH_AGENTS_CLIENTS (1,000)
 * WebSocket clients are subscribed to `agent_status` of the agents' project. Every
 * BENCH_AGENTS_CHANGE_EVERY-th (4th) heartbeat of an agent reports the other status
 * (`busy` ↔ `idle`), so the status changes and an `agent_status_update` goes to every client.
 *
 * Figures, after BENCH_WARMUP (5) s unmeasured, over BENCH_DURATION (30) s:
 * - heartbeat handling: the POST round trip (sent → answered) of every heartbeat;
 * - status change → client: from sending the heartbeat that changed the status to the
 *   frame carrying its `agent_status_update` arriving at each client, matched by the event's
 *   `seq` (the heartbeat's answer carries it), on the same clock, as bench/websocket.mjs does.
 * Clients run in BENCH_AGENTS_WORKERS (2) worker threads and count every update (lost,
 * duplicated).
 *
 * Baseline, same run, same driver and clients: a bare node:http + ws server (own process)
 * that answers each heartbeat with small JSON and, when the status changed, sends one
 * `agent_status_update` frame to every client at once — no authentication, storage or batching.
 *
 * Targets: heartbeat p99 ≤ 20 ms, status change → client p99 ≤ 100 ms, nothing lost.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import {
  authHeaders, cpuProfArgs, envInt, envNum, freePort, jwtSecret, log, machine, postJson, report, round, sleep, startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const require = createRequire(import.meta.url)

const AGENTS = Math.max(1, envInt('BENCH_AGENTS', 500))
const CLIENTS = Math.max(1, envInt('BENCH_AGENTS_CLIENTS', 1000))
const INTERVAL_MS = Math.max(100, envInt('BENCH_AGENTS_INTERVAL_MS', 5000))
const CHANGE_EVERY = Math.max(1, envInt('BENCH_AGENTS_CHANGE_EVERY', 4))
const WORKERS = Math.max(1, envInt('BENCH_AGENTS_WORKERS', 2))
const DURATION_S = Math.max(1, envNum('BENCH_DURATION', 30))
const WARMUP_S = Math.max(0, envNum('BENCH_WARMUP', 5))
/** Sockets the heartbeat senders share (each agent would hold its own connection). */
const SOCKETS = Math.max(1, envInt('BENCH_AGENTS_SOCKETS', 64))
const PROJECT = 'agents-bench'
const PROFILE = process.env.BENCH_CPU_PROF === '1'
const TARGETS = { heartbeat_p99_ms_max: 20, status_to_client_p99_ms_max: 100 }

const agentId = i => `bench-agent-${String(i).padStart(4, '0')}`

function percentiles(values) {
  if (!values.length) return { p50: null, p90: null, p95: null, p99: null, max: null, mean: null }
  const sorted = Float64Array.from(values).sort()
  const at = q => round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)], 2)
  return { p50: at(0.5), p90: at(0.9), p95: at(0.95), p99: at(0.99), max: round(sorted.at(-1), 2), mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, 2) }
}

// ---------------------------------------------------------------------------------------
// Client workers: subscribe to agent_status, log (seq, arrival) of every agent_status_update

const workerCode = `
const { parentPort, workerData } = require('node:worker_threads')
const WebSocket = require(workerData.wsPath)
const { url, count, project } = workerData
const clients = []

function makeClient() {
  const c = { ready: false, log: new Float64Array(2 * 1024), logLen: 0, closed: null, firstError: null, resync: null }
  const ws = new WebSocket(url, { perMessageDeflate: false })
  c.ws = ws
  const add = (seq, at) => {
    if (c.logLen + 2 > c.log.length) { const bigger = new Float64Array(c.log.length * 2); bigger.set(c.log); c.log = bigger }
    c.log[c.logLen++] = seq; c.log[c.logLen++] = at
  }
  ws.on('message', (data) => {
    const now = Date.now()
    const msg = JSON.parse(data.toString())
    if (msg.event === 'connection_established') ws.send(JSON.stringify({ event: 'subscribe', data: { channels: ['agent_status'], filters: { project_id: project } } }))
    else if (msg.event === 'subscription_confirmed') c.ready = true
    else if (msg.event === 'resync_required') c.resync = msg.data.reason
    else if (msg.event === 'error') c.firstError ??= msg
    else if (msg.event === 'batch') { for (const e of msg.data.events) if (e.event === 'agent_status_update') add(e.seq, now) }
    else if (msg.event === 'agent_status_update') add(msg.seq, now)
  })
  ws.on('close', (code) => { c.closed = code })
  ws.on('error', (error) => { c.firstError ??= String(error.message) })
  return c
}

parentPort.on('message', async (cmd) => {
  if (cmd === 'connect') {
    for (let i = 0; i < count; i += 25) {
      for (let j = i; j < Math.min(count, i + 25); j++) clients.push(makeClient())
      await new Promise(r => setTimeout(r, 15))
    }
    const deadline = Date.now() + 60000
    while (Date.now() < deadline && clients.some(c => !c.ready && c.closed === null)) await new Promise(r => setTimeout(r, 50))
    parentPort.postMessage({ type: 'connected', ready: clients.filter(c => c.ready).length, errors: clients.filter(c => c.firstError).slice(0, 3).map(c => c.firstError) })
  }
  else if (cmd === 'results') {
    parentPort.postMessage({ type: 'results', clients: clients.map(c => ({ log: c.log.slice(0, c.logLen), closed: c.closed, resync: c.resync, firstError: c.firstError })) })
  }
  else if (cmd === 'close') {
    for (const c of clients) c.ws.terminate()
    parentPort.postMessage({ type: 'closed' })
  }
})
`

function startWorkers(url) {
  const per = Math.ceil(CLIENTS / WORKERS)
  const workers = []
  for (let w = 0; w < WORKERS; w++) {
    const count = Math.min(per, CLIENTS - w * per)
    if (count > 0) workers.push(new Worker(workerCode, { eval: true, workerData: { wsPath: require.resolve('ws'), url, count, project: PROJECT } }))
  }
  const ask = (cmd, type) => Promise.all(workers.map(w => new Promise((resolve) => {
    const on = (m) => {
      if (m.type !== type) return
      w.off('message', on)
      resolve(m)
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
// The driver, the same against both servers

/**
 * Heartbeats on schedule: beat `b` is agent `b % AGENTS`'s heartbeat number
 * `floor(b / AGENTS)`, due at `start + b × INTERVAL_MS / AGENTS`. Sends whatever is due
 * every 2 ms, without waiting for answers.
 */
async function drive({ baseUrl, headersFor }) {
  const status = Array.from({ length: AGENTS }, () => 'idle')
  const rtts = []
  const changeSentAt = new Map()
  const statuses = {}
  let errors = 0
  let firstError = null
  let sent = 0
  let measured = 0
  let changes = 0
  const pending = new Set()
  const started = Date.now()
  const measureFrom = started + WARMUP_S * 1000
  const end = measureFrom + DURATION_S * 1000
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - started) * AGENTS) / INTERVAL_MS)
    for (; sent < due; sent++) {
      const i = sent % AGENTS
      const n = Math.floor(sent / AGENTS)
      const change = n > 0 && (n + i) % CHANGE_EVERY === 0
      if (change) status[i] = status[i] === 'idle' ? 'busy' : 'idle'
      const body = JSON.stringify({ status: status[i], load: ((i * 7 + n) % 10) / 10, metrics: { cpu_usage: ((i + n) % 100) / 100, memory_usage: 0.42, active_connections: 3 } })
      const sentAt = Date.now()
      const t0 = performance.now()
      const inWindow = sentAt >= measureFrom
      const p = postJson(`${baseUrl}/api/agents/${agentId(i)}/heartbeat`, body, { headers: headersFor(i), maxSockets: SOCKETS, timeoutMs: 30_000 })
        .then((res) => {
          const ms = performance.now() - t0
          statuses[res.status] = (statuses[res.status] ?? 0) + 1
          if (res.status !== 200) {
            errors++
            firstError ??= `HTTP ${res.status}: ${res.text.slice(0, 300)}`
            return
          }
          if (!inWindow) return
          rtts.push(ms)
          measured++
          if (change) {
            const seq = JSON.parse(res.text).seq
            if (typeof seq === 'number') changeSentAt.set(seq, sentAt)
            changes++
          }
        }, (error) => {
          errors++
          firstError ??= String(error.message)
        })
      pending.add(p)
      p.finally(() => pending.delete(p))
    }
    await sleep(2)
  }
  await Promise.all(pending)
  return { rtts, changeSentAt, statuses, errors, firstError, sent, measured, changes, elapsed_s: (Date.now() - measureFrom) / 1000 }
}

/** Connects the clients, drives the heartbeats, and measures both sides. */
/** utime + stime of a process, in seconds (Linux /proc), or null. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  }
  catch {
    return null
  }
}

async function run(name, { baseUrl, wsUrl, headersFor, rss, pid }) {
  const clients = startWorkers(wsUrl)
  const connectStarted = performance.now()
  const connected = await clients.connect()
  const ready = connected.reduce((s, c) => s + c.ready, 0)
  log(`${name}: ${ready}/${CLIENTS} clients subscribed in ${round((performance.now() - connectStarted) / 1000, 1)} s`)
  if (ready < CLIENTS) log(`${name}: first client errors: ${JSON.stringify(connected.flatMap(c => c.errors).slice(0, 3))}`)
  await sleep(500)
  const rssConnected = rss?.()
  log(`${name}: ${AGENTS} agents every ${INTERVAL_MS} ms for ${WARMUP_S} s warm-up + ${DURATION_S} s`)
  const cpuBefore = cpuSeconds(pid)
  const driveStarted = performance.now()
  const d = await drive({ baseUrl, headersFor })
  const cpuAfter = cpuSeconds(pid)
  const driveS = (performance.now() - driveStarted) / 1000
  await sleep(2000)
  const rssAfter = rss?.()
  const results = (await clients.results()).flatMap(r => r.clients)
  await clients.close()

  const latencies = []
  let delivered = 0
  let duplicated = 0
  let lost = 0
  for (const c of results) {
    const seen = new Set()
    for (let k = 0; k < c.log.length; k += 2) {
      const sentAt = d.changeSentAt.get(c.log[k])
      if (sentAt === undefined) continue
      if (seen.has(c.log[k])) {
        duplicated++
        continue
      }
      seen.add(c.log[k])
      delivered++
      latencies.push(c.log[k + 1] - sentAt)
    }
    if (c.closed === null) lost += d.changeSentAt.size - seen.size
  }
  return {
    clients_subscribed: ready,
    heartbeats_sent: d.sent,
    heartbeats_measured: d.measured,
    heartbeats_per_s: round(d.measured / d.elapsed_s, 1),
    heartbeat_errors: d.errors,
    first_error: d.firstError,
    http_statuses: d.statuses,
    heartbeat_ms: percentiles(d.rtts),
    status_changes: d.changes,
    status_updates_delivered: delivered,
    status_updates_expected: d.changeSentAt.size * ready,
    lost,
    duplicated,
    clients_closed_by_server: results.filter(c => c.closed !== null).length,
    clients_told_to_resync: results.filter(c => c.resync).length,
    first_client_error: results.find(c => c.firstError)?.firstError ?? null,
    status_to_client_ms: percentiles(latencies),
    /** The server's CPU (user + system) over warm-up and measurement, per heartbeat sent and as a share of one core: other work on the machine moves these far less than latencies. */
    server_cpu_ms_per_heartbeat: cpuBefore === null || cpuAfter === null ? null : round(((cpuAfter - cpuBefore) * 1000) / d.sent, 3),
    server_cpu_share_of_a_core: cpuBefore === null || cpuAfter === null ? null : round((cpuAfter - cpuBefore) / driveS, 3),
    ...(rssConnected ? { server_rss_with_clients_mb: rssConnected.rss_mb, server_rss_after_mb: rssAfter.rss_mb, server_peak_rss_mb: rssAfter.peak_rss_mb } : {}),
  }
}

// ---------------------------------------------------------------------------------------
// Baseline: a bare node:http + ws server

async function bareServer() {
  const port = await freePort()
  const code = `
    const http = require('node:http')
    const { WebSocketServer } = require(${JSON.stringify(require.resolve('ws'))})
    const last = new Map()
    let seq = 0
    const server = http.createServer((req, res) => {
      const chunks = []
      req.on('data', c => chunks.push(c))
      req.on('end', () => {
        const id = req.url.split('/')[3]
        const body = JSON.parse(Buffer.concat(chunks).toString())
        const mine = ++seq
        const previous = last.get(id) ?? 'idle'
        last.set(id, body.status)
        if (body.status !== previous) {
          const frame = JSON.stringify({ event: 'agent_status_update', channel: 'agent_status', seq: mine, data: { agent_id: id, project_id: 'bare', status: body.status, previous_status: previous } })
          for (const c of wss.clients) c.send(frame)
        }
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ agent_id: id, received: true, seq: mine, status: body.status }))
      })
    })
    const wss = new WebSocketServer({ server, perMessageDeflate: false })
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ event: 'connection_established', data: {} }))
      ws.on('message', () => ws.send(JSON.stringify({ event: 'subscription_confirmed', data: {} })))
    })
    server.listen(${port}, '127.0.0.1', () => process.send('ready'))
  `
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await new Promise(r => child.once('message', r))
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/`, pid: child.pid, stop: () => child.kill('SIGTERM') }
}

// ---------------------------------------------------------------------------------------
// The run

const bare = await bareServer()
log(`agents: bare node:http + ws baseline`)
const baseline = await run('bare', { baseUrl: bare.url, wsUrl: bare.wsUrl, headersFor: () => ({}), pid: bare.pid })
bare.stop()
log(`bare: heartbeat p99 ${baseline.heartbeat_ms.p99} ms, status → client p99 ${baseline.status_to_client_ms.p99} ms`)

const profileDir = PROFILE ? tempDir('seneca-bench-prof-') : null
const server = await startServer({ env: { SENECA_WS_MAX_CONNECTIONS: String(CLIENTS + 100) }, nodeArgs: PROFILE ? cpuProfArgs(profileDir) : [] })
const headers = await authHeaders()
const token = headers.authorization?.slice('Bearer '.length) ?? ''
// The fleet: registered first, each agent with its own ingest key for its project.
const registered = await postJson(`${server.url}/api/ingest`, JSON.stringify({
  events: Array.from({ length: AGENTS }, (_, i) => ({ kind: 'agent.registered', project_id: PROJECT, agent_id: agentId(i), name: `Agent ${i}`, type: 'worker', capabilities: ['python'] })),
}), { headers })
if (registered.status !== 200) throw new Error(`registering the agents failed: HTTP ${registered.status} ${registered.text.slice(0, 300)}`)
const { SignJWT } = await import('jose')
const agentHeaders = await Promise.all(Array.from({ length: AGENTS }, async (_, i) => ({
  authorization: `Bearer ${await new SignJWT({ role: 'ingest', projects: [PROJECT] }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(agentId(i)).setIssuedAt().setExpirationTime('4h').sign(new TextEncoder().encode(jwtSecret))}`,
})))
const seneca = await run('seneca', {
  baseUrl: server.url,
  wsUrl: `${server.url.replace('http', 'ws')}/api/ws?token=${encodeURIComponent(token)}`,
  headersFor: i => agentHeaders[i],
  rss: () => server.rss(),
  pid: server.pid,
})
await server.stop()
const profile = PROFILE ? summariseCpuProfiles(profileDir) : null
log(`seneca: heartbeat p99 ${seneca.heartbeat_ms.p99} ms, status → client p99 ${seneca.status_to_client_ms.p99} ms`)

const pass = {
  all_clients_subscribed: seneca.clients_subscribed === CLIENTS,
  no_heartbeat_errors: seneca.heartbeat_errors === 0,
  heartbeat_p99: seneca.heartbeat_ms.p99 !== null && seneca.heartbeat_ms.p99 <= TARGETS.heartbeat_p99_ms_max,
  status_to_client_p99: seneca.status_to_client_ms.p99 !== null && seneca.status_to_client_ms.p99 <= TARGETS.status_to_client_p99_ms_max,
  zero_lost: seneca.lost === 0 && seneca.clients_closed_by_server === 0,
  zero_duplicated: seneca.duplicated === 0,
}

report({
  benchmark: 'agents',
  ...machine(),
  params: { agents: AGENTS, clients: CLIENTS, interval_ms: INTERVAL_MS, change_every: CHANGE_EVERY, duration_s: DURATION_S, warmup_s: WARMUP_S, workers: WORKERS, sockets: SOCKETS, project: PROJECT },
  figures: seneca,
  baseline: { what: 'bare node:http + ws server (own process): answers each heartbeat, sends one frame per status change to every client at once; same driver and clients', ...baseline },
  ratios: {
    heartbeat_p99_vs_bare: baseline.heartbeat_ms.p99 ? round(seneca.heartbeat_ms.p99 / baseline.heartbeat_ms.p99, 2) : null,
    status_to_client_p99_vs_bare: baseline.status_to_client_ms.p99 ? round(seneca.status_to_client_ms.p99 / baseline.status_to_client_ms.p99, 2) : null,
  },
  targets: TARGETS,
  pass,
  passed: Object.values(pass).every(Boolean),
  ...(profile ? { server_profile: profile } : {}),
})
process.exit(0)
