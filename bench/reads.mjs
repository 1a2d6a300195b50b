#!/usr/bin/env node
/**
 * Read paths under load, on BENCH_MESSAGES (1,000,000) messages in BENCH_CONVERSATIONS
 * (50,000) conversations, loaded through /api/ingest.
 *
 * Each route: autocannon, BENCH_CONNECTIONS (50) connections, BENCH_DURATION (10) s after a
 * BENCH_WARMUP (1) s warm-up; requests/s, p50/p90/p95/p99.
 *   - GET /api/conversations                                first page
 *   - GET /api/conversations?limit=50&cursor=…              a page BENCH_CURSOR_PAGES (200) deep
 *   - GET /api/conversations/{id}/messages                  rotating over 1,000 conversations
 *   - GET /api/conversations/search?q=<word in ~0.1%>        full-text search
 *   - GET /api/conversations/analytics?since=<n>             uncached: every request a new key
 *   - GET /api/conversations/analytics?since=<inside data>   uncached and computed: a window within the data
 *   - GET /api/conversations/analytics                       same URL every time (cache allowed)
 * Baselines, same run: GET /api/connectors on the same server (a Nitro route answering small
 * JSON without touching the database when no connector runs — the "bare Nitro JSON route"),
 * a bare node:http server in its own process, and GET /api/health (touches SQLite).
 *
 * Targets: list and message pages ≥ 0.25 × the bare Nitro route's req/s with p99 ≤ 25 ms;
 * search and analytics p95 ≤ 50 ms; server RSS after loading ≤ 400 MB.
 *
 * BENCH_REUSE=1 keeps the loaded data dir in /tmp (keyed by sizes and the
 * server's migrations) and reuses it on the next run. BENCH_LOAD_ONLY=1 stops after loading.
 * A route that answers 404 (not built yet) is reported as skipped.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  authHeaders, cpuProfArgs, dirSizeMb, envInt, envNum, getJson, ingestBody, load, log, machine, messageFactory, postAll,
  RARE_WORD, removeDir, report, rng, round, schemaKey, startBareHttp, startServer, summariseCpuProfiles, tempDir,
} from './lib.mjs'

const MESSAGES = envInt('BENCH_MESSAGES', 1_000_000)
const CONVERSATIONS = Math.max(1, envInt('BENCH_CONVERSATIONS', 50_000))
const LOAD_BATCH = Math.min(5000, Math.max(1, envInt('BENCH_LOAD_BATCH', 5000)))
const LOAD_CONCURRENCY = Math.max(1, envInt('BENCH_LOAD_CONCURRENCY', 2))
const CONNECTIONS = Math.max(1, envInt('BENCH_CONNECTIONS', 50))
const DURATION = Math.max(1, envNum('BENCH_DURATION', 10))
const WARMUP = envNum('BENCH_WARMUP', 1)
const CURSOR_PAGES = envInt('BENCH_CURSOR_PAGES', 200)
const REUSE = process.env.BENCH_REUSE === '1'
const LOAD_ONLY = process.env.BENCH_LOAD_ONLY === '1'
const PROFILE = process.env.BENCH_CPU_PROF === '1'
/** Only these measured routes (comma-separated names), e.g. while working on one; baselines always run. */
const ONLY = process.env.BENCH_ROUTES ? new Set(process.env.BENCH_ROUTES.split(',').map(s => s.trim())) : null
const wanted = name => ONLY === null || ONLY.has(name)
/** Bump when the generated data changes, so cached data dirs are not reused. */
const DATA_VERSION = 1

const TARGETS = { list_ratio_min: 0.25, list_p99_ms_max: 25, search_p95_ms_max: 50, analytics_p95_ms_max: 50, rss_mb_max: 400 }

const DATA_START = Date.UTC(2026, 2, 1)
const STEP_MS = 250
const at = messageFactory({ conversations: CONVERSATIONS, idPrefix: 'rd', startTs: DATA_START, stepMs: STEP_MS })
const headers = await authHeaders()

// --- data: reuse a cached, complete data dir or load a fresh one --------------------------
const cacheDir = join(tmpdir(), `seneca-bench-reads-m${MESSAGES}-c${CONVERSATIONS}-s${schemaKey()}-v${DATA_VERSION}`)
const marker = join(cacheDir, 'bench-complete.json')
const reused = REUSE && existsSync(marker)
let dataDir
if (reused) dataDir = cacheDir
else if (REUSE) {
  removeDir(cacheDir) // a partial load from an interrupted run
  dataDir = cacheDir
}
else dataDir = tempDir('seneca-bench-reads-')

const profileDir = PROFILE ? tempDir('seneca-bench-prof-') : null
const server = await startServer({ dataDir, readyTimeoutMs: 120_000, nodeArgs: PROFILE ? cpuProfArgs(profileDir) : [] })
log(`reads: server up in ${Math.round(server.startupMs)} ms (pid ${server.pid}), data dir ${dataDir}${reused ? ' (reused)' : ''}`)

let loading
if (reused) {
  // The marker is the first run's loading report: it says `reused: false`.
  loading = { ...JSON.parse(readFileSync(marker, 'utf8')), reused: true }
  log(`reads: reusing ${loading.messages} messages loaded ${loading.loaded_at}`)
}
else {
  const batches = Math.ceil(MESSAGES / LOAD_BATCH)
  log(`reads: loading ${MESSAGES} messages in ${CONVERSATIONS} conversations (${batches} requests of ${LOAD_BATCH}, ${LOAD_CONCURRENCY} in flight)`)
  let done = 0
  let lastLog = performance.now()
  const t0 = performance.now()
  const res = await postAll(`${server.url}/api/ingest`, batches, i => ingestBody(at, i * LOAD_BATCH, Math.min(MESSAGES, (i + 1) * LOAD_BATCH)), {
    concurrency: LOAD_CONCURRENCY,
    headers,
    timeoutMs: envInt('BENCH_LOAD_TIMEOUT_S', 1200) * 1000,
    onProgress: () => {
      done++
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now()
        const n = done * LOAD_BATCH
        log(`reads: loaded ${n}/${MESSAGES} (${Math.round(n / ((performance.now() - t0) / 1000))} events/s, server RSS ${server.rss().rss_mb} MB)`)
      }
    },
  })
  if (res.stored + res.duplicates !== MESSAGES) {
    await server.stop()
    throw new Error(`loading failed${res.timedOut ? ' (BENCH_LOAD_TIMEOUT_S reached)' : ''}: stored ${res.stored}, duplicates ${res.duplicates}, rejected ${res.rejected}, statuses ${JSON.stringify(res.statuses)}: ${res.firstError}`)
  }
  loading = {
    reused: false,
    messages: MESSAGES,
    conversations: CONVERSATIONS,
    stored: res.stored,
    load_s: round(res.ms / 1000, 1),
    load_events_per_s: round(res.stored / (res.ms / 1000), 0),
    loaded_at: new Date().toISOString(),
    ...Object.fromEntries(Object.entries(server.rss()).map(([k, v]) => [`server_${k}_after_load`, v])),
  }
  if (REUSE) writeFileSync(marker, JSON.stringify(loading))
  log(`reads: loaded in ${loading.load_s} s (${loading.load_events_per_s} events/s), server RSS ${loading.server_rss_mb_after_load} MB`)
}

const rssAfterLoad = reused ? null : loading.server_rss_mb_after_load
const routes = {}
let skipped = []
let bareHttp
let cursorWalk = null

/** GET once; returns null (and records why) when the route is missing or malformed. */
async function probe(name, path, check) {
  try {
    const res = await getJson(server.url + path, { headers, timeoutMs: 60_000 })
    const problem = res.status !== 200 ? `HTTP ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}` : check?.(res.body)
    if (problem) {
      routes[name] = { path, skipped: true, reason: problem }
      skipped.push(name)
      log(`reads: ${name} skipped — ${problem}`)
      return null
    }
    return res
  }
  catch (error) {
    routes[name] = { path, skipped: true, reason: String(error) }
    skipped.push(name)
    return null
  }
}

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

async function measure(name, opts) {
  if (!wanted(name)) {
    routes[name] = { ...(routes[name] ?? {}), skipped_by_request: true }
    return null
  }
  log(`reads: ${name} (${CONNECTIONS} connections, ${DURATION} s)`)
  if (WARMUP > 0) await load({ url: server.url, connections: CONNECTIONS, durationS: WARMUP, warmupS: 0, headers, ...opts })
  const cpuBefore = cpuSeconds(server.pid)
  const r = await load({ url: server.url, connections: CONNECTIONS, durationS: DURATION, warmupS: 0, headers, ...opts })
  const cpuAfter = cpuSeconds(server.pid)
  // The server's own CPU per answer: other work on a shared machine moves it far less than req/s.
  if (cpuBefore !== null && cpuAfter !== null && r.requests) r.server_cpu_ms_per_request = round(((cpuAfter - cpuBefore) * 1000) / r.requests, 3)
  routes[name] = { ...(routes[name] ?? {}), ...r }
  log(`reads: ${name}: ${r.requests_per_s} req/s, p95 ${r.latency_ms.p95} ms, p99 ${r.latency_ms.p99} ms${r.non_2xx ? `, ${r.non_2xx} non-2xx ${JSON.stringify(r.status_codes)}` : ''}`)
  return r
}

if (!LOAD_ONLY) {
  // Baselines first.
  bareHttp = await startBareHttp()
  log('reads: bare node:http baseline')
  routes.bare_node_http = await load({ url: bareHttp.url, path: '/', connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, title: 'bare node:http (own process)' })
  await bareHttp.stop()

  if (await probe('bare_nitro_route', '/api/connectors', b => (Array.isArray(b?.connectors) ? null : 'no connectors array'))) {
    await measure('bare_nitro_route', { path: '/api/connectors', title: 'GET /api/connectors (Nitro route, small JSON, no DB)' })
  }
  if (await probe('health', '/api/health')) await measure('health', { path: '/api/health', title: 'GET /api/health (touches SQLite)' })

  // List: first page, then walk the cursor BENCH_CURSOR_PAGES deep for the deep page.
  const first = await probe('list_first_page', '/api/conversations', b => (Array.isArray(b?.conversations) && typeof b.total === 'number' && 'has_more' in b && 'next_cursor' in b ? null : 'shape is not {conversations,total,has_more,next_cursor}'))
  if (first) {
    routes.list_first_page = { total: first.body.total, page_size: first.body.conversations.length }
    await measure('list_first_page', { path: '/api/conversations', title: 'GET /api/conversations' })

    let cursor = null
    let pages = 0
    const t0 = performance.now()
    let res = await getJson(`${server.url}/api/conversations?limit=50`, { headers })
    while (res.status === 200 && res.body.next_cursor && pages < CURSOR_PAGES && performance.now() - t0 < 120_000) {
      cursor = res.body.next_cursor
      pages++
      res = await getJson(`${server.url}/api/conversations?limit=50&cursor=${encodeURIComponent(cursor)}`, { headers })
    }
    cursorWalk = { pages_walked: pages, rows_skipped: pages * 50, walk_ms_per_page: round((performance.now() - t0) / Math.max(1, pages + 1), 2), last_status: res.status }
    if (cursor) {
      const path = `/api/conversations?limit=50&cursor=${encodeURIComponent(cursor)}`
      if (await probe('list_deep_page', path, b => (Array.isArray(b?.conversations) && b.conversations.length ? null : 'empty page'))) {
        routes.list_deep_page = { pages_deep: pages }
        await measure('list_deep_page', { path, title: `GET /api/conversations?limit=50&cursor=… (${pages} pages deep)` })
      }
    }
    else {
      routes.list_deep_page = { skipped: true, reason: `no next_cursor after ${pages} pages (status ${res.status})` }
      skipped.push('list_deep_page')
    }
  }
  else {
    routes.list_deep_page = { skipped: true, reason: 'list route unavailable' }
    skipped.push('list_deep_page')
  }

  // Messages of 1,000 conversations, in a fixed random order.
  const r = rng(7)
  const convIds = Array.from({ length: Math.min(1000, CONVERSATIONS) }, () => `conv-${r.int(0, CONVERSATIONS - 1)}`)
  const msgPath = id => `/api/conversations/${encodeURIComponent(id)}/messages`
  const msgProbe = await probe('messages_page', msgPath(convIds[0]), b => (Array.isArray(b?.messages) && typeof b.has_more === 'boolean' ? null : 'shape is not {messages,has_more}'))
  if (msgProbe) {
    routes.messages_page = { conversations_rotated: convIds.length, probe_messages: msgProbe.body.messages.length }
    await measure('messages_page', { paths: convIds.map(msgPath), title: 'GET /api/conversations/{id}/messages' })
  }

  const searchPath = `/api/conversations/search?q=${RARE_WORD}`
  const searchProbe = await probe('search', searchPath, b => (Array.isArray(b?.results) && typeof b.total === 'number' ? null : 'shape is not {results,total,has_more}'))
  if (searchProbe) {
    routes.search = { q: RARE_WORD, total_matches: searchProbe.body.total, expected_matches_about: Math.round(MESSAGES * 0.001) }
    await measure('search', { path: searchPath, title: `GET /api/conversations/search?q=${RARE_WORD}` })
  }

  // Uncached analytics: `since` (epoch ms, before all data, so the same answer) differs in
  // every request, so no response cache keyed by URL can answer it.
  if (await probe('analytics_uncached', '/api/conversations/analytics?since=1', b => (typeof b?.total_conversations === 'number' ? null : 'no total_conversations'))) {
    await measure('analytics_uncached', { pathAt: i => `/api/conversations/analytics?since=${i + 1}`, title: 'GET /api/conversations/analytics?since=<unique> (uncached)' })
  }
  // Uncached analytics of a window inside the data: `since` falls within the loaded hours,
  // at another hour and millisecond in every request, so the figures are computed from the
  // hourly rollups each time (an all-time answer cannot stand in for them).
  const dataHours = Math.max(1, Math.floor((MESSAGES * STEP_MS) / 3_600_000))
  const windowSince = i => DATA_START + ((i % dataHours) + 1) * 3_600_000 + (i % 3_599_000)
  if (await probe('analytics_window', `/api/conversations/analytics?since=${windowSince(0)}`, b => (typeof b?.total_conversations === 'number' ? null : 'no total_conversations'))) {
    await measure('analytics_window', { pathAt: i => `/api/conversations/analytics?since=${windowSince(i)}`, title: 'GET /api/conversations/analytics?since=<unique, inside the data> (uncached, computed)' })
  }
  if (await probe('analytics_same_url', '/api/conversations/analytics')) {
    await measure('analytics_same_url', { path: '/api/conversations/analytics', title: 'GET /api/conversations/analytics (same URL, cache allowed)' })
  }
}

const rssEnd = server.rss()
await server.stop()
const profile = PROFILE ? summariseCpuProfiles(profileDir) : null
const dataMb = dirSizeMb(dataDir)
if (!REUSE) removeDir(dataDir)

// --- verdict -------------------------------------------------------------------------------
const bare = routes.bare_nitro_route?.requests_per_s ?? null
const listCheck = (name) => {
  const r = routes[name]
  if (!r || r.skipped || !bare || r.requests_per_s === undefined) return null
  r.ratio_to_bare_nitro_route = round(r.requests_per_s / bare, 3)
  return r.non_2xx === 0 && r.requests_per_s >= TARGETS.list_ratio_min * bare && r.latency_ms.p99 <= TARGETS.list_p99_ms_max
}
const p95Check = (name, max) => {
  const r = routes[name]
  if (!r || r.skipped || r.latency_ms === undefined) return null
  return r.non_2xx === 0 && r.latency_ms.p95 <= max
}
const pass = LOAD_ONLY
  ? { rss_after_load: rssAfterLoad === null ? null : rssAfterLoad <= TARGETS.rss_mb_max }
  : {
      list_first_page: listCheck('list_first_page'),
      list_deep_page: listCheck('list_deep_page'),
      messages_page: listCheck('messages_page'),
      search: p95Check('search', TARGETS.search_p95_ms_max),
      analytics_uncached: p95Check('analytics_uncached', TARGETS.analytics_p95_ms_max),
      analytics_window: p95Check('analytics_window', TARGETS.analytics_p95_ms_max),
      rss_after_load: rssAfterLoad === null ? null : rssAfterLoad <= TARGETS.rss_mb_max,
      rss_at_end: rssEnd.rss_mb === null ? null : rssEnd.rss_mb <= TARGETS.rss_mb_max,
    }
skipped = [...new Set(skipped)]
report({
  benchmark: 'reads',
  ...machine(),
  params: { messages: MESSAGES, conversations: CONVERSATIONS, connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, cursor_pages: CURSOR_PAGES, load_only: LOAD_ONLY },
  loading,
  figures: {
    routes,
    cursor_walk: cursorWalk,
    server_rss_after_load_mb: rssAfterLoad,
    server_rss_at_end_mb: rssEnd.rss_mb,
    server_peak_rss_mb: rssEnd.peak_rss_mb,
    server_rss_at_end_anon_mb: rssEnd.rss_anon_mb,
    server_rss_at_end_file_mb: rssEnd.rss_file_mb,
    server_data_dir_mb: dataMb,
  },
  baseline: {
    what: 'bare_nitro_route = GET /api/connectors on the same server (Nitro route, small JSON, no database access when no connector runs); bare_node_http = node:http server returning small JSON in its own process; both measured in this run with the same load settings',
    bare_nitro_route_rps: bare,
    bare_node_http_rps: routes.bare_node_http?.requests_per_s ?? null,
  },
  target: TARGETS,
  pass,
  skipped,
  complete: skipped.length === 0 && !LOAD_ONLY,
  passed: skipped.length === 0 && !LOAD_ONLY && ONLY === null && Object.values(pass).every(v => v === true || v === null) && Object.values(pass).some(v => v === true),
  ...(profile ? { server_profile: profile } : {}),
})
