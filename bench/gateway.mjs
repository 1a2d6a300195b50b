#!/usr/bin/env node
/**
 * The gateway's own cost: the same routes on two servers of the same build, started side by
 * side on the same data —
 *   - `on`:  authentication (an HS256 JWT per request), rate limits (memory, limits raised so
 *            nothing is refused but every request is counted), request metrics and one JSON
 *            log line per request, as in production;
 *   - `off`: SENECA_GATEWAY=off — no authentication, rate limits, request metrics or logs.
 * and, when a Redis answers at BENCH_REDIS_URL (default redis://127.0.0.1:6379), a third
 * `redis` server like `on` but with the cache and rate limits in Redis (own key prefix,
 * removed afterwards).
 *
 * Routes (autocannon, BENCH_CONNECTIONS = 50 connections, BENCH_DURATION = 10 s after a
 * BENCH_WARMUP = 1 s warm-up). The servers take turns route by route, BENCH_ROUNDS = 3 rounds;
 * every ratio is computed within a round and the median over rounds is reported (per-route
 * figures: the best round):
 *   - `list`:       GET /api/conversations (a typical read: a page of 50 from SQLite)
 *   - `bare`:       GET /api/connectors — a Nitro route answering small JSON without touching
 *                   the database (no connector runs): the "bare Nitro JSON route"
 *   - `analytics`:  GET /api/conversations/analytics, same URL: answered from the response cache
 *
 * Targets:
 *   - gateway_read_ratio = on.list / off.list ≥ 0.8 (the gateway costs ≤ 20% on a read route)
 *   - cached_analytics_ratio = on.analytics / on.bare ≥ 0.5 (a cached analytics answer costs
 *     at most twice a bare Nitro route, both through the full gateway)
 * Also reported, not targets: on.bare / off.bare (the gateway's cost on the cheapest route),
 * off.analytics / off.bare, redis.analytics / redis.bare.
 */
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import {
  authHeaders, deleteRedisKeys, envInt, envNum, getJson, ingestBody, load, log, machine, messageFactory, postAll, report, round, startServer,
} from './lib.mjs'

const require = createRequire(import.meta.url)

const MESSAGES = envInt('BENCH_MESSAGES', 20_000)
const CONVERSATIONS = Math.max(1, envInt('BENCH_CONVERSATIONS', 500))
const CONNECTIONS = Math.max(1, envInt('BENCH_CONNECTIONS', 50))
const DURATION = Math.max(1, envNum('BENCH_DURATION', 10))
const WARMUP = envNum('BENCH_WARMUP', 1)
const ROUNDS = Math.max(1, envInt('BENCH_ROUNDS', 3))
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const TARGETS = { gateway_read_ratio_min: 0.8, cached_analytics_ratio_min: 0.5 }

const ROUTES = {
  list: '/api/conversations',
  bare: '/api/connectors',
  analytics: '/api/conversations/analytics',
}

const headers = await authHeaders()
const limitsOn = {
  SENECA_RATE_LIMITS: 'on',
  SENECA_RATE_LIMIT_PER_MINUTE: '1000000000',
  SENECA_RATE_LIMIT_PER_HOUR: '1000000000',
  SENECA_INGEST_EVENTS_PER_MINUTE: '1000000000000',
}

/** Whether a Redis answers PING within a second (ioredis, as the server uses it). */
async function redisReachable(url) {
  if (!url || url === 'off') return false
  const { Redis } = require('ioredis')
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.ping()
    return true
  }
  catch {
    return false
  }
  finally {
    client.disconnect()
  }
}

// --- servers and data ------------------------------------------------------------------------
const redisPrefix = `seneca-bench:gateway:${randomBytes(4).toString('hex')}`
const useRedis = await redisReachable(REDIS_URL)
if (!useRedis) log(`gateway: no Redis at ${REDIS_URL}; skipping the redis server`)

const variants = {
  on: { env: limitsOn },
  off: { env: { SENECA_GATEWAY: 'off' } },
  ...(useRedis ? { redis: { env: { ...limitsOn, REDIS_URL, SENECA_REDIS_PREFIX: redisPrefix } } } : {}),
}

const at = messageFactory({ conversations: CONVERSATIONS, idPrefix: 'gw' })
const servers = {}
let stopping = false
const checks = {}
const results = {}
const perRound = []
let cacheHits = 0
// Whatever happens, the servers stop and this run's Redis keys go.
try {
  for (const [name, variant] of Object.entries(variants)) {
    servers[name] = await startServer({ env: variant.env })
    servers[name].child.once('exit', (code, signal) => {
      if (!stopping) log(`gateway: ${name} server exited unexpectedly (${code ?? signal}):\n${servers[name].output().slice(-3000)}`)
    })
    const batch = 2000
    const res = await postAll(`${servers[name].url}/api/ingest`, Math.ceil(MESSAGES / batch), i => ingestBody(at, i * batch, Math.min(MESSAGES, (i + 1) * batch)), { concurrency: 2, headers })
    if (res.stored !== MESSAGES) throw new Error(`gateway: ${name} stored ${res.stored} of ${MESSAGES} messages: ${res.firstError ?? ''}`)
    // Every route answers 200 with the shape it should, before any load.
    const answers = {}
    for (const [route, path] of Object.entries(ROUTES)) {
      const r = await getJson(servers[name].url + path, { headers })
      answers[route] = r.status
    }
    const unauthenticated = await getJson(`${servers[name].url}/api/conversations`)
    checks[name] = { routes: answers, without_credentials: unauthenticated.status }
    log(`gateway: ${name} up (pid ${servers[name].pid}), ${MESSAGES} messages; answers ${JSON.stringify(checks[name])}`)
  }

  // --- load: servers take turns route by route (order reversed every round), so drift on a
  // shared machine hits all of them; each ratio is taken per round, and the median is reported.
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    const names = round_ % 2 ? Object.keys(servers) : Object.keys(servers).reverse()
    const figures = {}
    for (const route of Object.keys(ROUTES)) {
      for (const name of names) {
        const r = await load({ url: servers[name].url, path: ROUTES[route], connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, headers, title: `${name} ${ROUTES[route]}` })
        log(`gateway: round ${round_} ${name.padEnd(5)} ${route.padEnd(9)} ${r.requests_per_s} req/s, p99 ${r.latency_ms.p99} ms, non-2xx ${r.non_2xx}`)
        figures[`${name}.${route}`] = r.requests_per_s
        results[name] ??= {}
        const best = results[name][route]
        const rounds = [...(best?.rounds ?? []), r.requests_per_s]
        results[name][route] = !best || r.requests_per_s > best.requests_per_s ? { ...r, rounds } : { ...best, rounds }
      }
    }
    perRound.push(figures)
  }

  const metricsText = await fetch(`${servers.on.url}/metrics`).then(r => r.text())
  cacheHits = Number(/cache_requests_total\{cache="conversation_analytics",result="hit"\} (\d+)/.exec(metricsText)?.[1] ?? 0)
}
finally {
  stopping = true
  for (const server of Object.values(servers)) await server.stop()
  if (useRedis) await deleteRedisKeys(REDIS_URL, redisPrefix).catch(() => {})
}

// --- verdict -----------------------------------------------------------------------------------
const median = (xs) => {
  const v = xs.filter(x => Number.isFinite(x)).sort((a, b) => a - b)
  return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null
}
/** The median over rounds of a/b, both measured in the same round. */
const ratio = (a, b) => {
  const m = median(perRound.map(f => (f[a] && f[b] ? f[a] / f[b] : Number.NaN)))
  return m === null ? null : round(m, 3)
}
const ratios = {
  gateway_read_ratio: ratio('on.list', 'off.list'),
  cached_analytics_ratio: ratio('on.analytics', 'on.bare'),
  gateway_bare_route_ratio: ratio('on.bare', 'off.bare'),
  gateway_analytics_ratio: ratio('on.analytics', 'off.analytics'),
  cached_analytics_ratio_without_gateway: ratio('off.analytics', 'off.bare'),
  cached_analytics_ratio_redis: ratio('redis.analytics', 'redis.bare'),
  gateway_read_ratio_redis: ratio('redis.list', 'off.list'),
}
const allOk = Object.values(results).every(r => Object.values(r).every(x => x.non_2xx === 0))
const pass = {
  gateway_read_ratio: ratios.gateway_read_ratio === null ? null : ratios.gateway_read_ratio >= TARGETS.gateway_read_ratio_min,
  cached_analytics_ratio: ratios.cached_analytics_ratio === null ? null : ratios.cached_analytics_ratio >= TARGETS.cached_analytics_ratio_min,
  every_answer_2xx: allOk,
  gateway_enforced_on: checks.on?.without_credentials === 401,
  analytics_served_from_cache: cacheHits > 0,
}
report({
  benchmark: 'gateway',
  ...machine(),
  params: { messages: MESSAGES, conversations: CONVERSATIONS, connections: CONNECTIONS, duration_s: DURATION, warmup_s: WARMUP, rounds: ROUNDS, redis: useRedis ? REDIS_URL : null },
  figures: {
    routes: Object.fromEntries(Object.entries(results).map(([name, r]) => [name, Object.fromEntries(Object.entries(r).map(([route, x]) => [route, {
      path: ROUTES[route], requests_per_s: x.requests_per_s, rounds_requests_per_s: x.rounds, latency_ms: x.latency_ms, non_2xx: x.non_2xx, status_codes: x.status_codes,
    }]))])),
    ratios,
    per_round_requests_per_s: perRound,
    checks,
    analytics_cache_hits_on: cacheHits,
  },
  baseline: {
    what: 'off = the same build with SENECA_GATEWAY=off (no auth, rate limits, request metrics or logs), same data, measured in turns with `on`; bare = GET /api/connectors (a Nitro route answering small JSON without database access) on the same server; ratios are medians of per-round ratios',
  },
  target: TARGETS,
  pass,
  complete: true,
  passed: Object.values(pass).every(v => v === true),
})
