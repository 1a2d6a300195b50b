#!/usr/bin/env node
/**
 * Cost endpoints on BENCH_COST_EVENTS (1,000,000) `cost.usage` events over BENCH_DAYS (60)
 * days in 10 projects (100 agents, BENCH_TASKS = 100,000 tasks, 8 models including a free
 * local one and 5% with a reported cost), loaded through /api/ingest with 20 budgets in place
 * (so every commit also checks budgets).
 *
 * Each route: autocannon, BENCH_CONNECTIONS (10) connections for BENCH_DURATION (10) s after
 * a BENCH_WARMUP (1) s warm-up, and once more with one connection (the request's own time).
 * Every request is uncached: its URL differs (`as_of`, `until`, `at` or `cursor` moves by
 * a millisecond or one), and the cost routes have no response cache anyway.
 * Baselines, same run: GET /api/connectors on the same server (the bare Nitro JSON route) and
 * a bare node:http server.
 *
 * Also measured: re-costing after a price change (a project override for the busiest model
 * of one project, then its removal): events re-costed and the request's time.
 *
 * Target: every cost route p95 ≤ 100 ms at BENCH_CONNECTIONS connections.
 * BENCH_REUSE=1 keeps the loaded data dir in /tmp and reuses it next time.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  authHeaders, cpuProfArgs, dirSizeMb, envInt, envNum, getJson, load, log, machine, postAll, postJson, removeDir, report, rng, round, rssMb, schemaKey,
  startBareHttp, startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const EVENTS = envInt('BENCH_COST_EVENTS', 1_000_000)
const TASKS = Math.max(1, envInt('BENCH_TASKS', 100_000))
const DAYS = Math.max(1, envInt('BENCH_DAYS', 60))
const LOAD_BATCH = Math.min(5000, Math.max(1, envInt('BENCH_LOAD_BATCH', 5000)))
const LOAD_CONCURRENCY = Math.max(1, envInt('BENCH_LOAD_CONCURRENCY', 2))
const CONNECTIONS = Math.max(1, envInt('BENCH_CONNECTIONS', 10))
const DURATION = Math.max(1, envNum('BENCH_DURATION', 10))
const WARMUP = envNum('BENCH_WARMUP', 1)
const REUSE = process.env.BENCH_REUSE === '1'
const PROFILE = process.env.BENCH_CPU_PROF === '1'
const ONLY = process.env.BENCH_ROUTES ? new Set(process.env.BENCH_ROUTES.split(',').map(s => s.trim())) : null
const DATA_VERSION = 2
const TARGETS = { p95_ms_max: 100 }

const PROJECTS = 10
const AGENTS_PER_PROJECT = 10
const H = 3_600_000
const END = Date.UTC(2026, 2, 28, 12)
const START = END - DAYS * 24 * H

/** [model, provider, weight, reported cost?] */
const MODELS = [
  ['claude-sonnet-4-5-20250929', 'anthropic', 35, false],
  ['claude-haiku-4-5', 'anthropic', 20, false],
  ['gpt-4o', 'openai', 10, false],
  ['gpt-4.1-mini', 'openai', 10, false],
  ['gemini-2.5-flash', 'google', 10, false],
  ['o3', 'openai', 5, false],
  ['llama3.1:8b', 'ollama', 5, false],
  ['claude-opus-4-5', 'anthropic', 5, true],
]
const WEIGHTS = MODELS.reduce((s, m) => s + m[2], 0)

const r = rng(7)
/** The i-th usage event: time spread evenly over the days, tasks of about EVENTS/TASKS calls each. */
function usageAt(i) {
  const task = Math.floor((i / EVENTS) * TASKS)
  const project = task % PROJECTS
  let pick = r.next() * WEIGHTS
  let model = MODELS[0]
  for (const m of MODELS) {
    pick -= m[2]
    if (pick < 0) {
      model = m
      break
    }
  }
  const e = {
    kind: 'cost.usage', id: `bc-${i}`, project_id: `p${project}`, agent_id: `p${project}-a${(Math.floor(task / PROJECTS) * 7 + r.int(0, 1)) % AGENTS_PER_PROJECT}`,
    task_id: `t${task}`, model: model[0], provider: model[1], ts: START + Math.floor((i / EVENTS) * (END - START)),
    input_tokens: r.int(500, 20_000), output_tokens: r.int(100, 4000), cache_read_tokens: r.int(0, 50_000), cache_write_tokens: r.int(0, 5000),
  }
  if (model[3]) e.cost = round(r.next() * 0.5, 6)
  return e
}

function bodyAt(batch) {
  const from = batch * LOAD_BATCH
  const to = Math.min(EVENTS, from + LOAD_BATCH)
  const events = []
  for (let i = from; i < to; i++) events.push(usageAt(i))
  return JSON.stringify({ events })
}

const headers = await authHeaders()
const cacheDir = join(tmpdir(), `seneca-bench-costs-e${EVENTS}-t${TASKS}-d${DAYS}-s${schemaKey()}-v${DATA_VERSION}`)
const marker = join(cacheDir, 'bench-complete.json')
const reused = REUSE && existsSync(marker)
const dataDir = REUSE ? cacheDir : tempDir('seneca-bench-costs-')
if (REUSE && !reused) removeDir(cacheDir)

// Database upkeep timers (retention, checkpoints, optimize) would stall reads at random moments on
// this data: they are measured by their own benchmark, not here.
const profileDir = PROFILE ? tempDir('seneca-bench-prof-') : null
const server = await startServer({
  dataDir, readyTimeoutMs: 300_000, nodeArgs: PROFILE ? cpuProfArgs(profileDir) : [],
  env: { SENECA_RATE_LIMITS: 'off', SENECA_RETENTION_INTERVAL_MS: String(7 * 24 * H), SENECA_CHECKPOINT_INTERVAL_MS: '0', SENECA_OPTIMIZE_INTERVAL_MS: '0' },
})
const base = server.url
const bare = await startBareHttp()
const out = { benchmark: 'costs', machine: machine(), settings: { events: EVENTS, tasks: TASKS, days: DAYS, connections: CONNECTIONS, duration_s: DURATION, reused }, targets: TARGETS }

try {
  let budgetIds = []
  if (!reused) {
    // Budgets first, so that every commit of the load checks them.
    for (let p = 0; p < PROJECTS; p++) {
      for (const body of [
        { project_id: `p${p}`, period: 'month', limit_usd: 1e9, name: `p${p} monthly` },
        { project_id: `p${p}`, scope: 'model', scope_id: 'claude-*', period: 'day', limit_usd: 1e9 },
      ]) {
        const res = await postJson(`${base}/api/costs/budgets`, JSON.stringify(body), { headers })
        if (res.status !== 201) throw new Error(`budget: HTTP ${res.status} ${res.text.slice(0, 300)}`)
      }
    }
    const batches = Math.ceil(EVENTS / LOAD_BATCH)
    log(`loading ${EVENTS} usage events in ${batches} batches`)
    let done = 0
    const loaded = await postAll(`${base}/api/ingest`, batches, bodyAt, {
      concurrency: LOAD_CONCURRENCY, headers,
      onProgress: () => {
        if (++done % 20 === 0) log(`  ${done}/${batches} batches`)
      },
    })
    if (loaded.stored !== EVENTS) throw new Error(`stored ${loaded.stored} of ${EVENTS}: ${loaded.firstError}`)
    out.loading = { events_per_s: round(EVENTS / (loaded.ms / 1000), 0), seconds: round(loaded.ms / 1000, 1), ...rssMb(server.pid) }
    if (REUSE) writeFileSync(marker, JSON.stringify({ events: EVENTS, at: new Date().toISOString() }))
  }
  else out.loading = { reused: true }
  out.data_dir_mb = dirSizeMb(dataDir)
  budgetIds = (await getJson(`${base}/api/costs/budgets?project_id=p3`, { headers })).body.budgets.map(b => b.id)

  const asOf = i => END + (i % 100_000)
  const routes = {
    summary_all: i => `/api/costs/summary?as_of=${asOf(i)}`,
    summary_project: i => `/api/costs/summary?project_id=p${i % PROJECTS}&as_of=${asOf(i)}`,
    summary_custom_window: i => `/api/costs/summary?since=${START + 5 * H + 1}&until=${END - 30 * H - 7}&as_of=${asOf(i)}`,
    projects: i => `/api/costs/projects?as_of=${asOf(i)}`,
    project_detail: i => `/api/costs/projects/p${i % PROJECTS}?as_of=${asOf(i)}`,
    agents: i => `/api/costs/agents?as_of=${asOf(i)}`,
    agent_detail: i => `/api/costs/agents/p${i % PROJECTS}-a${i % AGENTS_PER_PROJECT}?as_of=${asOf(i)}`,
    timeseries_hour_week: i => `/api/costs/timeseries?bucket=hour&since=${END - 7 * 24 * H}&until=${asOf(i)}`,
    timeseries_day_by_model: i => `/api/costs/timeseries?bucket=day&since=${START}&until=${asOf(i)}&group_by=model`,
    events_project: i => `/api/costs/events?project_id=p${i % PROJECTS}&limit=100&cursor=${END - i}_${10_000_000 - i}`,
    events_agent: i => `/api/costs/events?agent_id=p${i % PROJECTS}-a${i % AGENTS_PER_PROJECT}&limit=100&cursor=${END - i}_${10_000_000 - i}`,
    prices: i => `/api/costs/prices?project_id=p${i % PROJECTS}`,
    price_resolve: i => `/api/costs/prices/resolve?model=claude-sonnet-4-5-20250929&provider=anthropic&project_id=p${i % PROJECTS}&at=${asOf(i)}`,
    budgets: i => `/api/costs/budgets?as_of=${asOf(i)}`,
    budget_detail: i => `/api/costs/budgets/${budgetIds[i % budgetIds.length]}?as_of=${asOf(i)}`,
  }

  // Each route answers a sensible, non-empty body before it is measured.
  const first = await getJson(base + routes.summary_all(0), { headers })
  out.sanity = { summary_total_cost: first.body.total_cost, summary_events: first.body.totals?.events, unpriced_events: first.body.totals?.unpriced_events, status: first.status }
  for (const [name, at] of Object.entries(routes)) {
    const res = await getJson(base + at(1), { headers })
    if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`)
  }

  out.baseline = {
    bare_node_http: await load({ url: bare.url, path: '/', connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP }),
    bare_nitro_route: await load({ url: base, path: '/api/connectors', connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, headers }),
  }
  out.figures = { routes: {}, single_connection: {} }
  for (const [name, pathAt] of Object.entries(routes)) {
    if (ONLY && !ONLY.has(name)) continue
    log(`measuring ${name}`)
    out.figures.routes[name] = await load({ url: base, pathAt, connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, headers, title: name })
    const single = await load({ url: base, pathAt, connections: 1, durationS: Math.min(DURATION, 5), warmupS: 0, headers, title: name })
    out.figures.single_connection[name] = { requests_per_s: single.requests_per_s, latency_ms: single.latency_ms }
  }

  // Re-costing: an override for the busiest model of one project, then its removal.
  const override = { model_pattern: 'claude-sonnet-4-5*', project_id: 'p3', input_per_mtok: 2, output_per_mtok: 10, cache_read_per_mtok: 0.2, cache_write_per_mtok: 2.5 }
  let t0 = performance.now()
  const created = await postJson(`${base}/api/costs/prices`, JSON.stringify(override), { headers, timeoutMs: 600_000 })
  const createdMs = performance.now() - t0
  const price = JSON.parse(created.text)
  t0 = performance.now()
  const del = await fetch(`${base}/api/costs/prices/${price.price?.id}`, { method: 'DELETE', headers, signal: AbortSignal.timeout(600_000) })
  const deletedMs = performance.now() - t0
  out.figures.recost = {
    create_status: created.status, events_recosted: price.recosted?.events ?? null, create_ms: round(createdMs, 0),
    delete_status: del.status, delete_ms: round(deletedMs, 0),
    events_per_s: price.recosted?.events ? round(price.recosted.events / (createdMs / 1000), 0) : null,
  }
  out.figures.server_rss_at_end = rssMb(server.pid)

  out.pass = Object.fromEntries(Object.entries(out.figures.routes).map(([name, f]) => [name, f.non_2xx === 0 && f.latency_ms.p95 !== null && f.latency_ms.p95 <= TARGETS.p95_ms_max]))
  out.complete = ONLY === null
  out.passed = out.complete && Object.values(out.pass).every(Boolean)
}
catch (error) {
  out.error = error.stack ?? String(error)
  out.passed = false
}
finally {
  await bare.stop?.()
  await server.stop()
  if (!REUSE) removeDir(dataDir)
}
if (profileDir) {
  out.server_profile = summariseCpuProfiles(profileDir)
  removeDir(profileDir)
}
report(out)
