#!/usr/bin/env node
/**
 * node-cluster (one worker per core, Redis) against node-server (one process), same run, same
 * machine, same load:
 *
 * 1. ingest — BENCH_CLUSTER_MESSAGES (20,000) `message` events in batches of 500, 4 requests in
 *    flight (on 4 connections, so spread over the workers): events/s.
 * 2. reads — autocannon, BENCH_CLUSTER_CONNECTIONS (50) connections for BENCH_CLUSTER_READ_S
 *    (10) s, rotating over three hot list reads (conversations of a project, messages of a
 *    conversation, agents of a project): requests/s.
 * 3. fan-out — BENCH_CLUSTER_WS_CLIENTS (200) WebSocket clients subscribed to one project
 *    (spread over the workers by the cluster), BENCH_CLUSTER_FANOUT_EVENTS (2,000) events
 *    ingested in batches of 50 on 2 connections: deliveries/s from the first POST until every
 *    client holds every event, and a check that each got each exactly once, in seq order.
 *
 * The node-server run is the baseline. Target: reads ratio (cluster ÷ server) ≥ 1.5. The cluster
 * needs Redis: BENCH_REDIS_URL (redis://127.0.0.1:6379), keys under a prefix of its own,
 * deleted at the end. Builds: SENECA_SERVER_ENTRY (node-server, default .output) and
 * BENCH_CLUSTER_ENTRY (default .output-cluster, built with NITRO_PRESET=node-cluster).
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import {
  authHeaders, deleteRedisKeys, envInt, ingestBody, jwtSecret, log, machine, messageFactory, postAll, repoRoot, report, round, serverEntry, sleep, startServer,
} from './lib.mjs'

const require = createRequire(import.meta.url)
const WebSocket = require('ws')
const { Redis } = require('ioredis')

const MESSAGES = envInt('BENCH_CLUSTER_MESSAGES', 20_000)
const BATCH = 500
const CONNECTIONS = envInt('BENCH_CLUSTER_CONNECTIONS', 50)
const READ_S = envInt('BENCH_CLUSTER_READ_S', 8)
const READ_ROUNDS = Math.max(1, envInt('BENCH_CLUSTER_READ_ROUNDS', 3))
/** Unmeasured reads on each server before the rounds. */
const WARMUP_S = envInt('BENCH_CLUSTER_WARMUP_S', 5)
/** Threads of the read load generator. */
const CLIENT_WORKERS = Math.max(1, envInt('BENCH_CLUSTER_CLIENT_WORKERS', 2))
const WS_CLIENTS = envInt('BENCH_CLUSTER_WS_CLIENTS', 200)
const FANOUT_EVENTS = envInt('BENCH_CLUSTER_FANOUT_EVENTS', 2000)
const WORKERS = envInt('BENCH_CLUSTER_WORKERS', 2)
const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379'
const CLUSTER_ENTRY = resolve(process.env.BENCH_CLUSTER_ENTRY || join(repoRoot, '.output-cluster/server/index.mjs'))
const TARGET_READS_RATIO = 1.5
const SEQ = /"seq":(\d+)/g
const CONVERSATIONS = 200
const PROJECTS = 8

async function redisReachable() {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
  }
  catch (error) {
    throw new Error(`Redis at ${REDIS_URL} is not reachable (${error.message}); the node-cluster run needs it (BENCH_REDIS_URL)`)
  }
  finally {
    client.disconnect()
  }
}

/** /health over a new connection each time: with the cluster, each may reach another worker. */
function freshHealth(url) {
  return new Promise((ok, fail) => {
    http.get(`${url}/health`, { agent: false }, (res) => {
      let text = ''
      res.on('data', d => (text += d))
      res.on('end', () => ok(JSON.parse(text)))
    }).on('error', fail)
  })
}

async function waitForWorkers(url, workers) {
  if (workers < 2) return
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const roles = new Set()
    for (let i = 0; i < workers * 2; i++) roles.add((await freshHealth(url)).services?.cluster)
    if (roles.has('leader') && roles.has('follower')) return
    await sleep(200)
  }
  throw new Error('the cluster workers did not all come up (no leader and follower seen within 60 s)')
}

/** Clients subscribed to one project; resolves when every client holds `count` events after `afterSeq`. */
async function fanout(server, headers) {
  const token = headers.authorization?.slice('Bearer '.length) ?? ''
  const project = 'fanout'
  const clients = []
  for (let i = 0; i < WS_CLIENTS; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${encodeURIComponent(token)}`)
    const client = { ws, seqs: [], subscribed: false }
    // Only the seqs are read (a parse of every frame by 200 clients would make this process the
    // bottleneck); the generated content never contains `"seq":`.
    ws.on('message', (raw) => {
      const text = raw.toString()
      if (!client.subscribed && text.includes('"subscription_confirmed"')) client.subscribed = true
      for (const m of text.matchAll(SEQ)) client.seqs.push(Number(m[1]))
    })
    ws.on('error', () => {})
    await new Promise((ok, fail) => {
      ws.once('open', ok)
      ws.once('error', fail)
    })
    ws.send(JSON.stringify({ event: 'subscribe', data: { channels: ['conversations'], filters: { project_id: project } } }))
    clients.push(client)
  }
  const deadline = Date.now() + 30_000
  while (clients.some(c => !c.subscribed) && Date.now() < deadline) await sleep(20)
  if (clients.some(c => !c.subscribed)) throw new Error('fan-out: not every client was subscribed within 30 s')

  const at = messageFactory({ conversations: 20, projects: 1, idPrefix: `fan-${randomBytes(3).toString('hex')}` })
  const batches = Math.ceil(FANOUT_EVENTS / 50)
  const bodies = Array.from({ length: batches }, (_, b) => ingestBody(i => ({ ...at(i), project_id: project }), b * 50, Math.min(FANOUT_EVENTS, (b + 1) * 50)))
  const t0 = performance.now()
  const sent = await postAll(`${server.url}/api/ingest`, batches, b => bodies[b], { concurrency: 2, headers })
  const doneBy = Date.now() + 60_000
  while (clients.some(c => c.seqs.length < sent.stored) && Date.now() < doneBy) await sleep(5)
  const ms = performance.now() - t0
  let lost = 0
  let duplicated = 0
  let outOfOrder = 0
  for (const c of clients) {
    const unique = new Set(c.seqs)
    duplicated += c.seqs.length - unique.size
    lost += Math.max(0, sent.stored - unique.size)
    for (let i = 1; i < c.seqs.length; i++) if (c.seqs[i] <= c.seqs[i - 1]) outOfOrder++
  }
  for (const c of clients) c.ws.terminate()
  const deliveries = clients.reduce((n, c) => n + c.seqs.length, 0)
  return {
    clients: WS_CLIENTS, events: sent.stored, ms: round(ms, 0),
    deliveries_per_s: round(deliveries / (ms / 1000), 0),
    lost, duplicated, out_of_order: outOfOrder,
  }
}

/**
 * What a dashboard reads: a project's conversations, a thread's messages, a project's agents.
 * (Not search: a search first indexes what is pending, a write, which would measure the
 * indexer catching up after the load rather than reads.)
 */
const READ_PATHS = (() => {
  const paths = []
  for (let i = 0; i < 60; i++) {
    const c = (i * 37) % CONVERSATIONS
    if (i % 3 === 0) paths.push(`/api/conversations?project_id=proj-${c % PROJECTS}&limit=50`)
    else if (i % 3 === 1) paths.push(`/api/conversations/conv-${c}/messages?limit=50`)
    else paths.push(`/api/agents?project_id=proj-${c % PROJECTS}`)
  }
  return paths
})()

const autocannon = require('autocannon')

/**
 * Reads with autocannon in CLIENT_WORKERS threads, so that the load generator — on the same
 * cores — is not what limits the cluster. Each connection cycles through `READ_PATHS`.
 */
function readLoad(url, headers, durationS) {
  return new Promise((ok, fail) => {
    const inst = autocannon({
      url,
      connections: CONNECTIONS,
      duration: durationS,
      workers: CLIENT_WORKERS > 1 ? CLIENT_WORKERS : undefined,
      headers,
      requests: READ_PATHS.map(path => ({ method: 'GET', path })),
      timeout: 30,
    }, (error, result) => {
      if (error) return fail(error)
      ok({
        requests: result.requests.total,
        duration_s: result.duration,
        requests_per_s: round(result.requests.total / result.duration, 0),
        latency_ms: { p50: result.latency.p50, p99: result.latency.p99 },
        non_2xx: result.non2xx,
        errors: result.errors,
      })
    })
    inst.on('error', fail)
  })
}

async function start(name, entry, env, workers) {
  process.env.SENECA_SERVER_ENTRY = entry
  log(`${name}: starting ${entry}`)
  const server = await startServer({ env })
  await waitForWorkers(server.url, workers)
  return server
}

async function ingestInto(name, server, headers) {
  log(`${name}: ingest ${MESSAGES} events`)
  const at = messageFactory({ conversations: CONVERSATIONS, projects: PROJECTS })
  const batches = Math.ceil(MESSAGES / BATCH)
  const bodies = Array.from({ length: batches }, (_, b) => ingestBody(at, b * BATCH, Math.min(MESSAGES, (b + 1) * BATCH)))
  const ingest = await postAll(`${server.url}/api/ingest`, batches, b => bodies[b], { concurrency: 4, headers })
  if (ingest.firstError) throw new Error(`${name}: ingest failed: ${ingest.firstError}`)
  return { events: ingest.stored, events_per_s: round(ingest.stored / (ingest.ms / 1000), 0) }
}

const CLOCK_TICKS = 100

/** CPU seconds (user + system) used so far by a process and its children (the cluster's workers), from /proc. */
function cpuSeconds(pid) {
  const stat = (p) => {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')
      return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
    }
    catch {
      return undefined
    }
  }
  let ticks = stat(pid)?.ticks ?? 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const s = stat(entry)
    if (s?.ppid === pid) ticks += s.ticks
  }
  return ticks / CLOCK_TICKS
}

/**
 * Sums the rounds of one server: requests over seconds, the worst p99, every error, and the
 * CPU its processes got meanwhile (on a shared machine, that share decides the throughput).
 */
function readTotals(rounds) {
  const requests = rounds.reduce((n, r) => n + r.requests, 0)
  const seconds = rounds.reduce((n, r) => n + r.duration_s, 0)
  const cpu = rounds.reduce((n, r) => n + r.cpu_s, 0)
  return {
    requests_per_s: round(requests / seconds, 0),
    server_cpu_cores: round(cpu / seconds, 2),
    requests_per_cpu_s: cpu ? round(requests / cpu, 0) : null,
    rounds_requests_per_s: rounds.map(r => r.requests_per_s),
    p99_ms: Math.max(...rounds.map(r => r.latency_ms.p99 ?? 0)),
    p50_ms: rounds.map(r => r.latency_ms.p50),
    non_2xx: rounds.reduce((n, r) => n + r.non_2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  }
}

async function stopTimed(server) {
  const started = performance.now()
  await server.stop(15_000)
  return round(performance.now() - started, 0)
}
async function main() {
  if (!existsSync(CLUSTER_ENTRY)) throw new Error(`node-cluster build ${CLUSTER_ENTRY} not found: NITRO_PRESET=node-cluster SENECA_OUTPUT_DIR=.output-cluster SENECA_BUILD_DIR=.nuxt-cluster npx nuxt build, or set BENCH_CLUSTER_ENTRY`)
  await redisReachable()
  const singleEntry = serverEntry()
  const prefix = `seneca-bench:cluster:${process.pid}-${randomBytes(4).toString('hex')}`
  // No request log lines: both builds would write one per request into this process's pipes,
  // and reading them would cost the load generator's cores more than serving costs the servers.
  const common = { SENECA_JWT_SECRET: jwtSecret, SENECA_WS_MAX_CONNECTIONS: String(WS_CLIENTS + 100), SENECA_LOG_LEVEL: 'warn' }
  const servers = []
  try {
    const headers = await authHeaders()
    // Both run side by side (an idle one costs nothing) so their reads can alternate: a change in
    // the machine's other load then hits both alike.
    const single = await start('node-server', singleEntry, { ...common }, 1)
    servers.push(single)
    const multi = await start('node-cluster', CLUSTER_ENTRY, { ...common, REDIS_URL, SENECA_REDIS_PREFIX: prefix, NITRO_CLUSTER_WORKERS: String(WORKERS) }, WORKERS)
    servers.push(multi)
    const ingestSingle = await ingestInto('node-server', single, headers)
    const ingestMulti = await ingestInto('node-cluster', multi, headers)
    // Background work after the load (full-text indexing, insights, the other worker's catch-up)
    // settles, and every worker's JIT warms up (each cluster worker sees half the requests).
    await sleep(3000)
    for (const target of [single, multi]) await readLoad(target.url, headers, WARMUP_S)
    const rounds = { single: [], multi: [] }
    for (let r = 0; r < READ_ROUNDS; r++) {
      for (const [name, key, target] of [['node-server', 'single', single], ['node-cluster', 'multi', multi]]) {
        log(`${name}: reads round ${r + 1}/${READ_ROUNDS}, ${CONNECTIONS} connections for ${READ_S} s`)
        const cpuBefore = cpuSeconds(target.pid)
        const result = await readLoad(target.url, headers, READ_S)
        rounds[key].push({ ...result, cpu_s: cpuSeconds(target.pid) - cpuBefore })
      }
    }
    log(`node-server: fan-out to ${WS_CLIENTS} clients`)
    const fanSingle = await fanout(single, headers)
    log(`node-cluster: fan-out to ${WS_CLIENTS} clients`)
    const fanMulti = await fanout(multi, headers)
    const server = { workers: 1, ingest: ingestSingle, reads: readTotals(rounds.single), fanout: fanSingle, shutdown_ms: await stopTimed(single) }
    const cluster = { workers: WORKERS, ingest: ingestMulti, reads: readTotals(rounds.multi), fanout: fanMulti, shutdown_ms: await stopTimed(multi) }
    const ratio = (a, b) => (b ? round(a / b, 2) : null)
    const ratios = {
      reads: ratio(cluster.reads.requests_per_s, server.reads.requests_per_s),
      ingest: ratio(cluster.ingest.events_per_s, server.ingest.events_per_s),
      fanout: ratio(cluster.fanout.deliveries_per_s, server.fanout.deliveries_per_s),
    }
    const pass = {
      reads_ratio: ratios.reads !== null && ratios.reads >= TARGET_READS_RATIO,
      fanout_exactly_once: [server, cluster].every(r => r.fanout.lost === 0 && r.fanout.duplicated === 0 && r.fanout.out_of_order === 0),
    }
    report({
      benchmark: 'cluster',
      machine: { ...machine(), server_entry: singleEntry, cluster_entry: CLUSTER_ENTRY },
      settings: { messages: MESSAGES, batch: BATCH, read_connections: CONNECTIONS, read_s: READ_S, read_rounds: READ_ROUNDS, ws_clients: WS_CLIENTS, fanout_events: FANOUT_EVENTS, workers: WORKERS },
      baseline: { node_server: server },
      figures: { node_cluster: cluster, ratios },
      targets: { reads_ratio: TARGET_READS_RATIO },
      pass,
      passed: Object.values(pass).every(Boolean),
    })
  }
  finally {
    for (const server of servers) await server.stop(15_000).catch(() => {})
    await deleteRedisKeys(REDIS_URL, prefix).catch(() => {})
  }
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`)
  process.exit(1)
})
