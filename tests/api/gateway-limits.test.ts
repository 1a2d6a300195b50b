/**
 * Rate limits as clients meet them: per principal (per address when anonymous), RateLimit
 * headers on every limited response, 429 RATE_LIMITED with Retry-After, ingest priced in
 * events, per-route overrides — counted in memory, and in Redis shared by two instances.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertRedisReachable, deleteKeys, listKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis'
import { api, mintTestToken, startServer, type TestServer } from '../helpers/server'

function expectEnvelope(res: { status: number, body: any }, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) } })
}

const limitHeaders = (res: { headers: Headers }) => ({
  limit: res.headers.get('ratelimit-limit'),
  remaining: res.headers.get('ratelimit-remaining'),
  reset: res.headers.get('ratelimit-reset'),
})

const message = (id: string, project = 'alpha') => ({ kind: 'message', id, project_id: project, conversation_id: `${project}-c`, sender: 'a', recipient: 'b', content: `hello ${id}` })
const events = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => message(`${prefix}-${i}`))

const limitedEnv = { SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '5', SENECA_RATE_LIMIT_PER_HOUR: '1000', SENECA_INGEST_EVENTS_PER_MINUTE: '10' }

describe('rate limits in memory', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer(limitedEnv)
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('puts RateLimit headers on every limited response and refuses the sixth request with 429 and Retry-After', async () => {
    const token = await mintTestToken({ sub: 'counted', role: 'viewer' })
    for (let i = 1; i <= 5; i++) {
      const res = await api(server.url, '/api/conversations', { auth: token })
      expect(res.status).toBe(200)
      expect(limitHeaders(res)).toEqual({ limit: '5', remaining: String(5 - i), reset: expect.stringMatching(/^\d+$/) })
      expect(Number(res.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
      expect(Number(res.headers.get('ratelimit-reset'))).toBeLessThanOrEqual(60)
      expect(res.headers.get('ratelimit-policy')).toBe('5;w=60, 1000;w=3600')
    }
    const refused = await api(server.url, '/api/conversations', { auth: token })
    expectEnvelope(refused, 429, 'RATE_LIMITED')
    expect(refused.body.error.details).toMatchObject({ policy: 'default', limit: 5, unit: 'requests', window_seconds: 60 })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect(limitHeaders(refused)).toMatchObject({ limit: '5', remaining: '0' })
    // Any route of the default policy is refused now, not only the one that spent the budget.
    expectEnvelope(await api(server.url, '/api/agents', { auth: token }), 429, 'RATE_LIMITED')
  })

  it('counts each principal on its own', async () => {
    const first = await mintTestToken({ sub: 'first', role: 'viewer' })
    const second = await mintTestToken({ sub: 'second', role: 'viewer' })
    for (let i = 0; i < 5; i++) await api(server.url, '/api/agents', { auth: first })
    expect((await api(server.url, '/api/agents', { auth: first })).status).toBe(429)
    const other = await api(server.url, '/api/agents', { auth: second })
    expect(other.status).toBe(200)
    expect(other.headers.get('ratelimit-remaining')).toBe('4')
  })

  it('counts anonymous requests by address, and failed credentials too', async () => {
    const anonymous = await api(server.url, '/api/conversations', { auth: false })
    expectEnvelope(anonymous, 401, 'UNAUTHORIZED')
    expect(limitHeaders(anonymous)).toMatchObject({ limit: '5', remaining: '4' })
    for (let i = 0; i < 4; i++) await api(server.url, '/api/conversations', { auth: false })
    expectEnvelope(await api(server.url, '/api/conversations', { auth: false }), 429, 'RATE_LIMITED')
    // The address spent its budget: a guessed credential is refused before it is even checked.
    const guessed = await api(server.url, '/api/conversations', { auth: 'sk_guessed_key_000000000000000000' })
    expectEnvelope(guessed, 429, 'RATE_LIMITED')
    expect(Number(guessed.headers.get('retry-after'))).toBeGreaterThan(0)
    // A valid principal is not an anonymous request: its own budget applies.
    expect((await api(server.url, '/api/agents', { auth: await mintTestToken({ sub: 'valid-after-anon', role: 'viewer' }) })).status).toBe(200)
  })

  it('leaves health, metrics and the WebSocket path alone', async () => {
    for (let i = 0; i < 8; i++) {
      for (const path of ['/health', '/api/health', '/metrics']) {
        const res = await api(server.url, path, { auth: false })
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit-limit')).toBeNull()
      }
    }
    const ws = await api(server.url, '/api/ws', { auth: false })
    expect(ws.status).not.toBe(429)
    expect(ws.headers.get('ratelimit-limit')).toBeNull()
  })

  it('prices ingest in events, with its own budget', async () => {
    const token = await mintTestToken({ sub: 'ingester', role: 'ingest', projects: ['alpha'] })
    const first = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('budget-a', 4) }, auth: token })
    expect(first.status).toBe(200)
    expect(limitHeaders(first)).toMatchObject({ limit: '10', remaining: '6' })
    expect(first.headers.get('ratelimit-policy')).toBe('10;w=60')
    const second = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('budget-b', 6) }, auth: token })
    expect(second.status).toBe(200)
    expect(second.headers.get('ratelimit-remaining')).toBe('0')
    const refused = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('budget-c', 1) }, auth: token })
    expectEnvelope(refused, 429, 'RATE_LIMITED')
    expect(refused.body.error.details).toMatchObject({ policy: 'ingest', unit: 'events', limit: 10 })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // Ingest does not spend the request budget: reads still have all of theirs.
    const reader = await mintTestToken({ sub: 'ingester', role: 'admin' })
    const read = await api(server.url, '/api/agents', { auth: reader })
    expect(read.headers.get('ratelimit-remaining')).toBe('4')
  })

  it('refuses a batch larger than what is left without charging it, and one larger than the whole budget outright', async () => {
    const token = await mintTestToken({ sub: 'batcher', role: 'ingest', projects: ['alpha'] })
    const statsBefore = (await api(server.url, '/api/events/stats')).body
    expect((await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('left-a', 8) }, auth: token })).status).toBe(200)
    const tooMany = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('left-b', 5) }, auth: token })
    expectEnvelope(tooMany, 429, 'RATE_LIMITED')
    expect(tooMany.headers.get('ratelimit-remaining')).toBe('2')
    const fits = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('left-c', 2) }, auth: token })
    expect(fits.status).toBe(200)
    expect(fits.body.stored).toBe(2)
    const statsAfter = (await api(server.url, '/api/events/stats')).body
    expect(JSON.stringify(statsAfter)).not.toEqual(JSON.stringify(statsBefore))
    // Nothing of the refused batch was stored.
    const stored = (await api(server.url, '/api/events?kind=message&limit=1000')).body.events.map((e: any) => e.id)
    expect(stored.filter((id: string) => id.startsWith('left-b'))).toEqual([])

    const huge = await mintTestToken({ sub: 'huge', role: 'ingest', projects: ['alpha'] })
    const whole = await api(server.url, '/api/ingest', { method: 'POST', json: { events: events('huge', 11) }, auth: huge })
    expectEnvelope(whole, 429, 'RATE_LIMITED')
    expect(whole.body.error.message).toMatch(/more than the whole budget/)
    expect(whole.body.error.details).toMatchObject({ requested: 11, limit: 10 })
  })

  it('applies per-route overrides from the policy table (search has its own budget)', async () => {
    const token = await mintTestToken({ sub: 'searcher', role: 'viewer' })
    const search = await api(server.url, '/api/conversations/search?q=hello', { auth: token })
    expect(search.status).toBe(200)
    expect(search.headers.get('ratelimit-policy')).toBe('60;w=60, 1000;w=3600')
    expect(search.headers.get('ratelimit-remaining')).toBe('59')
    const list = await api(server.url, '/api/conversations', { auth: token })
    expect(list.headers.get('ratelimit-remaining')).toBe('4')
  })
})

describe('rate limit windows and switches', () => {
  it('enforces the hourly window too, and says which one refused', async () => {
    const server = await startServer({ SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '1000', SENECA_RATE_LIMIT_PER_HOUR: '3' })
    try {
      const token = await mintTestToken({ sub: 'hourly', role: 'viewer' })
      const seen = []
      for (let i = 0; i < 3; i++) seen.push(limitHeaders(await api(server.url, '/api/agents', { auth: token })))
      // The window closest to exhaustion is the one described.
      expect(seen.map(h => [h.limit, h.remaining])).toEqual([['3', '2'], ['3', '1'], ['3', '0']])
      const refused = await api(server.url, '/api/agents', { auth: token })
      expectEnvelope(refused, 429, 'RATE_LIMITED')
      expect(refused.body.error.details).toMatchObject({ limit: 3, window_seconds: 3600 })
      expect(refused.body.error.message).toMatch(/per hour/)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60)
    }
    finally {
      await server.dispose()
    }
  })

  it('sends no rate-limit headers and refuses nothing with SENECA_RATE_LIMITS=off', async () => {
    const server = await startServer({ ...limitedEnv, SENECA_RATE_LIMITS: 'off' })
    try {
      for (let i = 0; i < 8; i++) {
        const res = await api(server.url, '/api/agents')
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit-limit')).toBeNull()
      }
    }
    finally {
      await server.dispose()
    }
  })
})

describe('rate limits in Redis', () => {
  const prefix = uniquePrefix('limits')
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    await assertRedisReachable(SHARED_REDIS_URL)
    const env = { ...limitedEnv, REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: prefix }
    ;[a, b] = await Promise.all([startServer(env), startServer(env)])
  })
  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()])
    await deleteKeys(prefix).catch(() => undefined)
  })

  it('shares the counts between two instances', async () => {
    const token = await mintTestToken({ sub: 'shared', role: 'viewer' })
    const remaining: string[] = []
    for (const server of [a, b, a, b, a]) {
      const res = await api(server.url, '/api/agents', { auth: token })
      expect(res.status).toBe(200)
      remaining.push(res.headers.get('ratelimit-remaining')!)
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])
    const refused = await api(b.url, '/api/agents', { auth: token })
    expectEnvelope(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // The counters live under this run's prefix, with a TTL (they are fixed windows).
    expect((await listKeys(prefix)).some(k => k.startsWith(`${prefix}:rl:default:60`))).toBe(true)
  })

  it('shares the ingest budget in events', async () => {
    const token = await mintTestToken({ sub: 'shared-ingest', role: 'ingest', projects: ['alpha'] })
    expect((await api(a.url, '/api/ingest', { method: 'POST', json: { events: events('redis-a', 7) }, auth: token })).headers.get('ratelimit-remaining')).toBe('3')
    const onB = await api(b.url, '/api/ingest', { method: 'POST', json: { events: events('redis-b', 4) }, auth: token })
    expectEnvelope(onB, 429, 'RATE_LIMITED')
    expect(onB.headers.get('ratelimit-remaining')).toBe('3')
    expect((await api(b.url, '/api/ingest', { method: 'POST', json: { events: events('redis-c', 3) }, auth: token })).status).toBe(200)
  })

  it('answers 429 with headers exactly as in memory', async () => {
    const token = await mintTestToken({ sub: 'redis-headers', role: 'viewer' })
    for (let i = 0; i < 5; i++) expect(limitHeaders(await api(a.url, '/api/conversations', { auth: token })).limit).toBe('5')
    const refused = await api(a.url, '/api/conversations', { auth: token })
    expectEnvelope(refused, 429, 'RATE_LIMITED')
    expect(limitHeaders(refused)).toMatchObject({ limit: '5', remaining: '0' })
  })
})
