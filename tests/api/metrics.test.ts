/**
 * Observability as an operator sees it: GET /metrics is valid Prometheus text with bounded
 * labels and moving counters, can be protected by a token; one JSON log line per request on
 * stdout; GET /health as in the seed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, mintTestToken, startServer, type TestServer, waitFor } from '../helpers/server'

const METRICS_TOKEN = 'metrics-secret-0123456789'

type Sample = { name: string, labels: Record<string, string>, value: number }
type Family = { name: string, help?: string, type?: string, samples: Sample[] }

/**
 * A strict reader of the Prometheus text format (0.0.4): HELP/TYPE comments, sample lines with
 * escaped label values, numeric values. Throws on anything malformed; checks that every sample
 * belongs to a declared family and that histograms are consistent.
 */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) families.set(name, (f = { name, samples: [] }))
    return f
  }
  const metricName = /^[a-zA-Z_:][\w:]*$/
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line)
    if (comment) {
      const [, what, name, rest] = comment
      if (!metricName.test(name!)) throw new Error(`line ${i + 1}: bad metric name ${name}`)
      if (what === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!)) throw new Error(`line ${i + 1}: bad type ${rest}`)
        family(name!).type = rest
      }
      else family(name!).help = rest
      continue
    }
    if (line.startsWith('#')) continue
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line)
    if (!sample) throw new Error(`line ${i + 1}: not a sample: ${line}`)
    const [, name, labelText = '', rawValue] = sample
    const labels: Record<string, string> = {}
    let rest = labelText
    while (rest.length) {
      const m = /^([a-zA-Z_]\w*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest)
      if (!m) throw new Error(`line ${i + 1}: bad labels {${labelText}}`)
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
      rest = rest.slice(m[0].length)
    }
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client writes `Nan`).
    const special = /^(?:([+-]?)inf|(nan))$/i.exec(rawValue!)
    const value = special ? (special[2] ? Number.NaN : special[1] === '-' ? -Infinity : Infinity) : Number(rawValue)
    if (!special && (Number.isNaN(value) || !/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(rawValue!))) throw new Error(`line ${i + 1}: bad value ${rawValue}`)
    const owner = [name!, name!.replace(/_(bucket|sum|count)$/, '')].find(n => families.get(n)?.type)
    if (!owner) throw new Error(`line ${i + 1}: sample ${name} has no # TYPE`)
    families.get(owner)!.samples.push({ name: name!, labels, value })
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue
    const series = new Map<string, Sample[]>()
    for (const s of f.samples) {
      const { le: _le, ...rest } = s.labels
      const key = JSON.stringify(rest)
      series.set(key, [...(series.get(key) ?? []), s])
    }
    for (const [key, samples] of series) {
      const inf = samples.find(s => s.name === `${f.name}_bucket` && s.labels.le === '+Inf')
      const count = samples.find(s => s.name === `${f.name}_count`)
      if (!inf || !count || inf.value !== count.value) throw new Error(`histogram ${f.name} ${key}: +Inf bucket and _count disagree`)
    }
  }
  return families
}

let server: TestServer
const scrape = async () => {
  const res = await api(server.url, '/metrics', { auth: METRICS_TOKEN })
  expect(res.status).toBe(200)
  return { text: res.body as string, families: parsePrometheus(res.body as string), headers: res.headers }
}
const value = (families: Map<string, Family>, family: string, sample: string, labels: Record<string, string>) =>
  families.get(family)?.samples.find(s => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value ?? 0

beforeAll(async () => {
  server = await startServer({ SENECA_METRICS_TOKEN: METRICS_TOKEN, SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '1000', SENECA_INGEST_EVENTS_PER_MINUTE: '20' })
})

afterAll(async () => {
  await server?.dispose()
})

describe('GET /metrics', () => {
  it('is valid Prometheus text with every metric of the gateway, typed', async () => {
    await api(server.url, '/api/conversations')
    const { families, headers } = await scrape()
    expect(headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const types = Object.fromEntries([...families.values()].map(f => [f.name, f.type]))
    expect(types).toMatchObject({
      api_requests_total: 'counter',
      api_request_duration_seconds: 'histogram',
      websocket_connections: 'gauge',
      websocket_messages_total: 'counter',
      ingest_events_total: 'counter',
      ingest_duration_seconds: 'histogram',
      cache_requests_total: 'counter',
      rate_limit_rejections_total: 'counter',
      circuit_breaker_state: 'gauge',
      database_size_bytes: 'gauge',
      // prom-client's default process metrics
      process_cpu_user_seconds_total: 'counter',
      process_resident_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
    })
    for (const f of families.values()) expect(f.help, `HELP of ${f.name}`).toBeTruthy()
    expect(value(families, 'database_size_bytes', 'database_size_bytes', {})).toBeGreaterThan(4096)
  })

  it('counts requests under their route pattern, never the raw path', async () => {
    const before = (await scrape()).families
    const labels = { method: 'GET', endpoint: '/api/conversations/:id', status: '404' }
    for (let i = 0; i < 3; i++) expect((await api(server.url, `/api/conversations/conv-secret-${i}`)).status).toBe(404)
    await api(server.url, '/api/no-such-route/raw-segment-123')
    // A request is counted when its response has ended, a moment after the client has it.
    const { text, families } = await waitFor(async () => {
      const now = await scrape()
      return value(now.families, 'api_requests_total', 'api_requests_total', { endpoint: '/api/**:path', status: '404' }) >= 1 && now
    })
    expect(value(families, 'api_requests_total', 'api_requests_total', labels)).toBe(value(before, 'api_requests_total', 'api_requests_total', labels) + 3)
    expect(value(families, 'api_request_duration_seconds', 'api_request_duration_seconds_count', { method: 'GET', endpoint: '/api/conversations/:id' }))
      .toBeGreaterThanOrEqual(3)
    expect(value(families, 'api_requests_total', 'api_requests_total', { endpoint: '/api/**:path', status: '404' })).toBeGreaterThanOrEqual(1)
    expect(text).not.toContain('conv-secret')
    expect(text).not.toContain('raw-segment-123')
    // Refused before routing (401 from the auth middleware): still the route's pattern.
    await api(server.url, '/api/conversations/conv-secret-x/messages', { auth: false })
    await waitFor(async () => value((await scrape()).families, 'api_requests_total', 'api_requests_total', { endpoint: '/api/conversations/:id/messages', status: '401' }) === 1)
  })

  it('counts ingested events by kind and outcome, and ingest durations', async () => {
    const before = (await scrape()).families
    const res = await api(server.url, '/api/ingest', {
      method: 'POST',
      json: { events: [
        { kind: 'message', id: 'mx-1', sender: 'a', content: 'one' },
        { kind: 'message', id: 'mx-2', sender: 'a', content: 'two' },
        { kind: 'message', id: 'mx-1', sender: 'a', content: 'one' },
        { kind: 'message', sender: 'a' },
        { kind: 'no.such.kind' },
      ] },
    })
    expect(res.status).toBe(207)
    const { families } = await scrape()
    const moved = (labels: Record<string, string>) => value(families, 'ingest_events_total', 'ingest_events_total', labels) - value(before, 'ingest_events_total', 'ingest_events_total', labels)
    expect(moved({ kind: 'message', status: 'stored' })).toBe(2)
    expect(moved({ kind: 'message', status: 'duplicate' })).toBe(1)
    expect(moved({ kind: 'message', status: 'rejected' })).toBe(1)
    expect(moved({ kind: 'unknown', status: 'rejected' })).toBe(1)
    expect(value(families, 'ingest_duration_seconds', 'ingest_duration_seconds_count', { source: 'api' }) - value(before, 'ingest_duration_seconds', 'ingest_duration_seconds_count', { source: 'api' })).toBe(1)
  })

  it('counts cache hits and misses, and rate-limit rejections', async () => {
    const before = (await scrape()).families
    await api(server.url, '/api/conversations/analytics')
    await api(server.url, '/api/conversations/analytics')
    const ingester = await mintTestToken({ sub: 'metrics-ingester', role: 'ingest' })
    const events = Array.from({ length: 21 }, (_, i) => ({ kind: 'message', id: `rl-${i}`, sender: 'a', content: 'x' }))
    expect((await api(server.url, '/api/ingest', { method: 'POST', json: { events }, auth: ingester })).status).toBe(429)
    const { families } = await scrape()
    const moved = (family: string, labels: Record<string, string>) => value(families, family, family, labels) - value(before, family, family, labels)
    expect(moved('cache_requests_total', { cache: 'conversation_analytics', result: 'miss' })).toBe(1)
    expect(moved('cache_requests_total', { cache: 'conversation_analytics', result: 'hit' })).toBe(1)
    expect(moved('rate_limit_rejections_total', { policy: 'ingest' })).toBe(1)
  })

  it('wants the bearer token when SENECA_METRICS_TOKEN is set', async () => {
    for (const auth of [false, 'wrong-token', `${METRICS_TOKEN}x`] as const) {
      const res = await api(server.url, '/metrics', { auth })
      expect(res.status).toBe(401)
      expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', request_id: expect.any(String) })
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    expect((await api(server.url, '/metrics', { auth: METRICS_TOKEN })).status).toBe(200)
  })

  it('is open without SENECA_METRICS_TOKEN', async () => {
    const open = await startServer()
    try {
      const res = await api(open.url, '/metrics', { auth: false })
      expect(res.status).toBe(200)
      expect(() => parsePrometheus(res.body)).not.toThrow()
    }
    finally {
      await open.dispose()
    }
  })
})

describe('request log', () => {
  const logLines = () => server.output().split('\n').filter(l => l.startsWith('{')).map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>
    }
    catch {
      return {}
    }
  })

  it('writes one JSON line per request: request id, principal, method, route, status, duration', async () => {
    const member = await mintTestToken({ sub: 'log-reader', role: 'viewer' })
    await api(server.url, '/api/conversations/conv-log-1', { auth: member, headers: { 'x-request-id': 'log-test-1' } })
    const line = await waitFor(() => logLines().find(l => l.request_id === 'log-test-1'))
    expect(line).toMatchObject({
      level: 'info', msg: 'request', request_id: 'log-test-1', principal: 'user:log-reader', method: 'GET',
      route: '/api/conversations/:id', path: '/api/conversations/conv-log-1', status: 404, duration_ms: expect.any(Number),
    })
    expect(typeof line.time).toBe('string')
    expect(logLines().filter(l => l.request_id === 'log-test-1')).toHaveLength(1)
  })

  it('never logs the query string (a stream token may be in it)', async () => {
    await api(server.url, '/api/conversations?project_id=secretish&token=abc', { headers: { 'x-request-id': 'log-test-2' } })
    const line = await waitFor(() => logLines().find(l => l.request_id === 'log-test-2'))
    expect(line.path).toBe('/api/conversations')
    expect(server.output()).not.toContain('token=abc')
  })

  it('keeps health and metrics requests out of the info log', async () => {
    await api(server.url, '/health', { auth: false, headers: { 'x-request-id': 'log-health-1' } })
    await api(server.url, '/metrics', { auth: METRICS_TOKEN, headers: { 'x-request-id': 'log-metrics-1' } })
    await api(server.url, '/metrics', { auth: false, headers: { 'x-request-id': 'log-metrics-denied' } })
    await waitFor(() => logLines().find(l => l.request_id === 'log-metrics-denied'))
    expect(logLines().find(l => l.request_id === 'log-health-1')).toBeUndefined()
    expect(logLines().find(l => l.request_id === 'log-metrics-1')).toBeUndefined()
    expect(logLines().find(l => l.request_id === 'log-metrics-denied')).toMatchObject({ status: 401, route: '/metrics' })
  })

  it('logs them at debug when SENECA_LOG_LEVEL=debug', async () => {
    const verbose = await startServer({ SENECA_LOG_LEVEL: 'debug' })
    try {
      await api(verbose.url, '/health', { auth: false, headers: { 'x-request-id': 'log-health-debug' } })
      await waitFor(() => verbose.output().includes('"request_id":"log-health-debug"'))
      const line = verbose.output().split('\n').find(l => l.includes('"request_id":"log-health-debug"'))!
      expect(JSON.parse(line)).toMatchObject({ level: 'debug', route: '/health', status: 200 })
    }
    finally {
      await verbose.dispose()
    }
  })
})

describe('GET /health', () => {
  it('answers as the seed: status, timestamp, version and services with the cache', async () => {
    for (const path of ['/health', '/api/health']) {
      const res = await api(server.url, path, { auth: false })
      expect(res.status).toBe(200)
      expect(res.body).toEqual({
        status: 'healthy',
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        version: expect.any(String),
        services: expect.objectContaining({ database: 'healthy', marcus: expect.any(String), cache: 'memory' }),
      })
    }
  })
})
