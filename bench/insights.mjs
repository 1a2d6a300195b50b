#!/usr/bin/env node
/**
 * Insight endpoints (memory, patterns and predictions, context) on BENCH_TASKS (100,000) tasks
 * in BENCH_PROJECTS (50) projects worked by BENCH_AGENTS (200) agents, with their assignments,
 * progress reports, blockers (about 6% of tasks, a third resolved by re-assignment), failures
 * (3%), dependencies (each task on up to two earlier tasks of its project) and
 * BENCH_MESSAGES_PER_TASK (2) messages each — all loaded through /api/ingest.
 *
 * After loading, the benchmark waits until the insight rollups have caught up with the event
 * log (`freshness.events_behind` = 0) and reports how long that took. Then each endpoint is
 * measured with autocannon, BENCH_CONNECTIONS (4) connections — a few dashboards at once —
 * for BENCH_DURATION (5) s after a BENCH_WARMUP (1) s warm-up, rotating over projects,
 * agents and tasks so every request computes its answer (these routes have no response cache).
 * Baselines, same run: a bare node:http server and GET /api/connectors (a bare Nitro JSON route).
 *
 * Target: every insight endpoint p95 ≤ 100 ms.
 */
import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  authHeaders, cpuProfArgs, envInt, envNum, getJson, load, log, machine, postAll, removeDir, report, rng, round, schemaKey, sleep, startBareHttp,
  startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const TASKS = Math.max(1, envInt('BENCH_TASKS', 100_000))
const PROJECTS = Math.max(1, envInt('BENCH_PROJECTS', 50))
const AGENTS = Math.max(2, envInt('BENCH_AGENTS', 200))
const MESSAGES_PER_TASK = envInt('BENCH_MESSAGES_PER_TASK', 2)
const CONNECTIONS = Math.max(1, envInt('BENCH_CONNECTIONS', 4))
const DURATION = Math.max(1, envNum('BENCH_DURATION', 5))
const WARMUP = envNum('BENCH_WARMUP', 1)
const TASKS_PER_BATCH = Math.max(1, envInt('BENCH_TASKS_PER_BATCH', 500))
const LOAD_CONCURRENCY = Math.max(1, envInt('BENCH_LOAD_CONCURRENCY', 2))
const CATCH_UP_TIMEOUT_S = envInt('BENCH_CATCH_UP_TIMEOUT_S', 900)
const TARGETS = { p95_ms_max: 100 }
const PROFILE = process.env.BENCH_CPU_PROF === '1'
const REUSE = process.env.BENCH_REUSE === '1'
const ONLY = process.env.BENCH_ROUTES ? new Set(process.env.BENCH_ROUTES.split(',').map(s => s.trim())) : null
const DATA_VERSION = 1

const LABELS = ['api', 'db', 'frontend', 'testing', 'infra', 'docs', 'security', 'performance']
const BLOCKERS = ['Sandbox {n} is down', 'CI runner {n} out of disk', 'Waiting for API keys for service {n}', 'Flaky integration test {n}', 'Schema migration {n} conflicts']
const WORDS = ('task schema migration endpoint test failing passing review branch deploy cache index query page route handler retry timeout '
  + 'lint build release fixture token session worker lease plan step done blocked estimate hours refactor bug fix patch docs').split(' ')
const START = Date.UTC(2026, 0, 5)
const H = 3_600_000
const perProject = Math.ceil(TASKS / PROJECTS)
const agentsPerProject = Math.max(2, Math.ceil(AGENTS / PROJECTS) * 4)

const project = p => `bench-p${String(p).padStart(3, '0')}`
const taskId = i => `bench-t${i}`
const agentOf = (p, k) => `bench-a${String((p * 7 + k) % AGENTS).padStart(4, '0')}`

/** Every event of task i (deterministic), in time order. */
function taskEvents(i) {
  const r = rng(i * 2654435761 + 11)
  const p = i % PROJECTS
  const k = Math.floor(i / PROJECTS)
  const projectId = project(p)
  const id = taskId(i)
  const labels = [LABELS[r.int(0, LABELS.length - 1)], ...(r.chance(0.3) ? [LABELS[r.int(0, LABELS.length - 1)]] : [])]
  const estimate = r.int(1, 16) / 2
  const deps = []
  for (let d = 0; d < 2 && k > 0; d++) if (r.chance(0.6)) deps.push(taskId(i - PROJECTS * r.int(1, Math.min(k, 20))))
  // Tasks of a project start one after another over ~60 days; the newest 5% are still open.
  const start = START + Math.floor((k / perProject) * 60 * 24 * H) + r.int(0, 6 * H)
  const agent = agentOf(p, r.int(0, agentsPerProject - 1))
  const actual = Math.round(estimate * H * (0.4 + r.next() * 1.4))
  const open = k >= perProject * 0.95
  const events = [
    { kind: 'task.upserted', project_id: projectId, task_id: id, name: `Task ${i}`, estimated_hours: estimate, labels, ...(deps.length ? { depends_on: [...new Set(deps)] } : {}), ts: start - H },
    { kind: 'task.assigned', project_id: projectId, task_id: id, agent_id: agent, ts: start },
    { kind: 'task.progress', project_id: projectId, task_id: id, agent_id: agent, progress: 50, ts: start + Math.round(actual / 2) },
  ]
  let end = start + actual
  let owner = agent
  if (r.chance(0.06)) {
    const text = r.pick(BLOCKERS).replace('{n}', String(r.int(1, 40)))
    events.push({ kind: 'blocker.reported', project_id: projectId, task_id: id, agent_id: agent, severity: r.pick(['low', 'medium', 'high']), description: text, ts: start + Math.round(actual / 2) + 1000 })
    if (!r.chance(0.33)) return { events: withMessages(events, r, projectId, agent, start), open: true }
    owner = agentOf(p, r.int(0, agentsPerProject - 1))
    events.push({ kind: 'task.assigned', project_id: projectId, task_id: id, agent_id: owner, ts: start + actual })
    end = start + Math.round(actual * 1.5)
  }
  if (!open) {
    const failed = r.chance(0.03)
    events.push({ kind: 'task.progress', project_id: projectId, task_id: id, agent_id: owner, progress: failed ? 60 : 100, ...(failed ? { status: 'failed' } : {}), ts: end })
  }
  return { events: withMessages(events, r, projectId, agent, start), open }
}

function withMessages(events, r, projectId, agent, start) {
  const loop = r.chance(0.01)
  for (let m = 0; m < MESSAGES_PER_TASK; m++) {
    events.push({
      kind: 'message', project_id: projectId, conversation_id: `bench-conv-${agent}`, sender: m % 2 === 0 || loop ? agent : 'marcus',
      recipient: m % 2 === 0 || loop ? 'marcus' : agent, message_type: m % 2 === 0 ? 'request' : 'response',
      content: loop ? `Retrying the build, attempt ${m}` : Array.from({ length: 12 }, () => r.pick(WORDS)).join(' '), ts: start + m * 60_000 + 1,
    })
  }
  return events
}

const headers = await authHeaders()
const cacheDir = join(tmpdir(), `seneca-bench-insights-t${TASKS}-p${PROJECTS}-a${AGENTS}-m${MESSAGES_PER_TASK}-s${schemaKey()}-v${DATA_VERSION}`)
const marker = join(cacheDir, 'bench-complete.json')
const reused = REUSE && existsSync(marker)
if (REUSE && !reused) removeDir(cacheDir)
const profileDir = PROFILE ? tempDir('seneca-bench-prof-') : null
const server = await startServer({ readyTimeoutMs: 120_000, ...(REUSE ? { dataDir: cacheDir } : {}), nodeArgs: PROFILE ? cpuProfArgs(profileDir) : [] })
log(`insights: server up (pid ${server.pid}), data dir ${server.dataDir}`)

// --- load ---------------------------------------------------------------------------------
const batches = Math.ceil(TASKS / TASKS_PER_BATCH)
let events = 0
const agentsSeen = new Set()
const registrations = []
for (let p = 0; p < PROJECTS; p++) {
  for (let k = 0; k < agentsPerProject; k++) {
    const a = agentOf(p, k)
    if (agentsSeen.has(a)) continue
    agentsSeen.add(a)
    registrations.push({ kind: 'agent.registered', project_id: project(p), agent_id: a, name: `Agent ${a}`, type: LABELS[k % LABELS.length], capabilities: [LABELS[k % LABELS.length]] })
  }
}
if (!reused) await postAll(`${server.url}/api/ingest`, 1, () => JSON.stringify({ events: registrations }), { headers })
log(`insights: loading ${TASKS} tasks in ${PROJECTS} projects (${batches} requests, ${LOAD_CONCURRENCY} in flight)`)
const t0 = performance.now()
let lastLog = t0
let loaded = 0
const loadAll = () => postAll(`${server.url}/api/ingest`, batches, (b) => {
  const out = []
  for (let i = b * TASKS_PER_BATCH; i < Math.min(TASKS, (b + 1) * TASKS_PER_BATCH); i++) out.push(...taskEvents(i).events)
  events += out.length
  return JSON.stringify({ events: out })
}, {
  concurrency: LOAD_CONCURRENCY,
  headers,
  timeoutMs: envInt('BENCH_LOAD_TIMEOUT_S', 1800) * 1000,
  onProgress: () => {
    loaded++
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now()
      log(`insights: ${loaded}/${batches} batches (${Math.round(events / ((performance.now() - t0) / 1000))} events/s)`)
    }
  },
})
const res = reused ? { stored: 0 } : await loadAll()
if (res.rejected || res.firstError || res.timedOut) {
  await server.stop()
  throw new Error(`loading failed: stored ${res.stored}, rejected ${res.rejected}, ${res.firstError ?? 'timed out'}`)
}
const loadS = (performance.now() - t0) / 1000
log(`insights: ${res.stored} events stored in ${round(loadS, 1)} s`)

// --- the rollups catch up (in the background after each commit, and before each insight read)
const t1 = performance.now()
let behind = null
while (performance.now() - t1 < CATCH_UP_TIMEOUT_S * 1000) {
  const probe = await getJson(`${server.url}/api/memory/agents?project_id=${project(0)}`, { headers, timeoutMs: 120_000 })
  behind = probe.body?.freshness?.events_behind
  if (behind === 0) break
  await sleep(500)
}
const catchUpS = (performance.now() - t1) / 1000
log(`insights: rollups current ${round(catchUpS, 1)} s after the last batch (events behind: ${behind})`)
if (REUSE && !reused && behind === 0) writeFileSync(marker, JSON.stringify({ tasks: TASKS, at: new Date().toISOString() }))

// --- pick subjects that exist ----------------------------------------------------------------
const someAgents = [...agentsSeen].slice(0, 50)
const someProjects = Array.from({ length: Math.min(PROJECTS, 50) }, (_, p) => project(p))
const openTasks = []
const anyTasks = []
for (let i = TASKS - 1; i >= 0 && openTasks.length < 200; i--) if (taskEvents(i).open) openTasks.push(taskId(i))
for (let i = 0; i < 200; i++) anyTasks.push(taskId(Math.floor((i * TASKS) / 200)))
const rot = list => n => list[n % list.length]
const P = rot(someProjects)
const A = rot(someAgents)
const T = rot(anyTasks)
const O = rot(openTasks)

const endpoints = {
  memory_agents_project: n => `/api/memory/agents?project_id=${P(n)}`,
  memory_agents_all: n => `/api/memory/agents?n=${n}`,
  memory_profile: n => `/api/memory/agents/${A(n)}`,
  memory_history: n => `/api/memory/agents/${A(n)}/history?limit=50`,
  memory_learning_curve: n => `/api/memory/agents/${A(n)}/learning-curve?weeks=12`,
  memory_blockers_project: n => `/api/memory/blockers?project_id=${P(n)}`,
  memory_blockers_all: n => `/api/memory/blockers?n=${n}`,
  knowledge_graph_project: n => `/api/memory/knowledge-graph?project_id=${P(n)}&limit=300`,
  knowledge_graph_agent: n => `/api/memory/knowledge-graph?agent_id=${A(n)}&limit=300`,
  patterns_project: n => `/api/patterns?project_id=${P(n)}`,
  patterns_all: n => `/api/patterns?n=${n}`,
  recommendations_project: n => `/api/patterns/recommendations?project_id=${P(n)}`,
  prediction_completion: n => `/api/patterns/predictions/projects/${P(n)}/completion`,
  prediction_task: n => `/api/patterns/predictions/tasks/${O(n)}`,
  prediction_cascade: n => `/api/patterns/predictions/cascade?task_id=${T(n)}&delay_hours=4`,
  context_graph: n => `/api/context/projects/${P(n)}/graph?limit=500`,
  context_task: n => `/api/context/tasks/${T(n)}`,
  context_impact_delay: n => `/api/context/tasks/${T(n)}/impact?delay_hours=8`,
  context_impact_failure: n => `/api/context/tasks/${T(n)}/impact?mode=failure`,
  context_cross_project: n => `/api/context/cross-project?n=${n}`,
}

const routes = {}
const bare = await startBareHttp()
routes.bare_node_http = await load({ url: bare.url, path: '/', connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP })
await bare.stop()
routes.bare_nitro_route = await load({ url: server.url, path: '/api/connectors', connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, headers })
const sizes = {}
for (const [name, pathAt] of Object.entries(endpoints)) {
  if (ONLY && !ONLY.has(name)) continue
  const first = await getJson(server.url + pathAt(0), { headers, timeoutMs: 60_000 })
  if (first.status !== 200) {
    routes[name] = { path: pathAt(0), skipped: true, reason: `HTTP ${first.status}: ${JSON.stringify(first.body).slice(0, 300)}` }
    log(`insights: ${name} skipped — ${routes[name].reason}`)
    continue
  }
  sizes[name] = JSON.stringify(first.body).length
  routes[name] = await load({ url: server.url, pathAt, connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, headers, title: pathAt(0) })
  log(`insights: ${name} ${routes[name].requests_per_s} req/s, p95 ${routes[name].latency_ms.p95} ms`)
}
const rss = server.rss()
await server.stop()
const profile = profileDir ? summariseCpuProfiles(profileDir) : null
if (profileDir) removeDir(profileDir)

const measured = Object.keys(endpoints).filter(n => routes[n] && !routes[n].skipped)
const pass = Object.fromEntries(measured.map(n => [n, routes[n].latency_ms.p95 !== null && routes[n].latency_ms.p95 <= TARGETS.p95_ms_max && routes[n].non_2xx === 0]))
report({
  benchmark: 'insights',
  machine: machine(),
  sizes: { tasks: TASKS, projects: PROJECTS, agents: agentsSeen.size, messages_per_task: MESSAGES_PER_TASK, events: res.stored + registrations.length },
  loading: { reused, load_s: round(loadS, 1), events_per_s: round(res.stored / loadS, 0), rollup_catch_up_s_after_load: round(catchUpS, 1), events_behind_at_start: behind },
  figures: { routes, response_bytes: sizes, server_rss_mb_at_end: rss.rss_mb },
  baseline: { bare_node_http_p95_ms: routes.bare_node_http.latency_ms.p95, bare_nitro_route_p95_ms: routes.bare_nitro_route.latency_ms.p95 },
  targets: TARGETS,
  pass,
  complete: measured.length === Object.keys(endpoints).length,
  passed: measured.length === Object.keys(endpoints).length && Object.values(pass).every(Boolean),
  ...(profile ? { server_profile: profile } : {}),
})
