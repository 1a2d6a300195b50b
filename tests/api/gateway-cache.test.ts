/**
 * The response cache as clients see it: analytics answers are cached per scope, never older
 * than a write the client was told is stored (on any instance), ETag/304 on GETs, and a Redis
 * that is down — from the start or killed mid-test — only means uncached answers, within 1 s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { assertRedisReachable, deleteKeys, listKeys, SHARED_REDIS_URL, startThrowawayRedis, type ThrowawayRedis, uniquePrefix } from '../helpers/redis'
import { api, freePort, mintTestToken, startServer, type TestServer, waitFor } from '../helpers/server'

const message = (id: string, project: string) => ({ kind: 'message', id, project_id: project, conversation_id: `${project}-conv`, sender: `${project}-agent`, recipient: 'boss', content: `hello ${id}` })

async function ingest(server: TestServer, events: unknown[]) {
  const res = await api(server.url, '/api/ingest', { method: 'POST', json: { events } })
  expect(res.status).toBe(200)
  expect(res.body.stored).toBe(events.length)
}

/** The value of one sample in the Prometheus text, 0 when absent. */
async function metric(server: TestServer, name: string, labels: Record<string, string>): Promise<number> {
  const text = (await api(server.url, '/metrics', { auth: false })).body as string
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const labelText = line.slice(name.length + 1, line.lastIndexOf('}'))
    if (wanted.every(w => labelText.split(',').includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return 0
}

const hits = (server: TestServer) => metric(server, 'cache_requests_total', { cache: 'conversation_analytics', result: 'hit' })
const bypasses = (server: TestServer) => metric(server, 'cache_requests_total', { cache: 'conversation_analytics', result: 'bypass' })

/** A request that must answer within `ms` (the test fails instead of hanging). */
async function timed(server: TestServer, path: string, init: Parameters<typeof api>[2] = {}, ms = 1000) {
  const started = performance.now()
  const res = await api(server.url, path, { ...init, signal: AbortSignal.timeout(5000) })
  const took = performance.now() - started
  expect(took, `${init.method ?? 'GET'} ${path} took ${Math.round(took)} ms`).toBeLessThan(ms)
  return res
}

function readAfterWriteChecks(write: () => TestServer, read: () => TestServer, project: string) {
  return async () => {
    const path = `/api/conversations/analytics?project_id=${project}`
    const before = (await api(read().url, path)).body.total_messages as number
    for (let i = 0; i < 10; i++) {
      // Warm the cache with the current answer, then write, then read at once.
      expect((await api(read().url, path)).body.total_messages).toBe(before + i)
      await ingest(write(), [message(`${project}-raw-${i}`, project)])
      expect((await api(read().url, path)).body.total_messages).toBe(before + i + 1)
    }
    // The answer over every project moves too.
    const all = (await api(read().url, '/api/conversations/analytics')).body.total_messages as number
    await ingest(write(), [message(`${project}-raw-all`, project)])
    expect((await api(read().url, '/api/conversations/analytics')).body.total_messages).toBe(all + 1)
  }
}

describe('response cache in memory', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
    await ingest(server, [message('a-1', 'alpha'), message('a-2', 'alpha'), message('b-1', 'beta')])
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('answers repeated analytics reads from the cache', async () => {
    const first = await api(server.url, '/api/conversations/analytics?project_id=beta')
    const before = await hits(server)
    const second = await api(server.url, '/api/conversations/analytics?project_id=beta')
    expect(second.body).toEqual(first.body)
    expect(await hits(server)).toBe(before + 1)
  })

  it('never serves an answer older than an ingest the client was told is stored', readAfterWriteChecks(() => server, () => server, 'alpha'))

  it('keys answers by scope: a member of one project and an admin get their own answers', async () => {
    const member = await mintTestToken({ sub: 'member-a', role: 'member', projects: ['alpha'] })
    const admin = await mintTestToken({ sub: 'admin', role: 'admin' })
    const asAdmin = await api(server.url, '/api/conversations/analytics', { auth: admin })
    const asMember = await api(server.url, '/api/conversations/analytics', { auth: member })
    const alphaOnly = await api(server.url, '/api/conversations/analytics?project_id=alpha', { auth: admin })
    expect(asMember.body).toEqual(alphaOnly.body)
    expect(asAdmin.body.total_messages).toBeGreaterThan(asMember.body.total_messages)
    // Again, now from the cache: still each their own.
    expect((await api(server.url, '/api/conversations/analytics', { auth: member })).body).toEqual(asMember.body)
    expect((await api(server.url, '/api/conversations/analytics', { auth: admin })).body).toEqual(asAdmin.body)
    // An ingest into beta changes the admin's answer, not the member's.
    const memberHits = await hits(server)
    await ingest(server, [message('b-scope', 'beta')])
    expect((await api(server.url, '/api/conversations/analytics', { auth: admin })).body.total_messages).toBe(asAdmin.body.total_messages + 1)
    expect((await api(server.url, '/api/conversations/analytics', { auth: member })).body).toEqual(asMember.body)
    expect(await hits(server)).toBe(memberHits + 1)
  })

  it('answers a GET with a weak ETag and If-None-Match with 304', async () => {
    const first = await api(server.url, '/api/conversations/analytics?project_id=beta')
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^W\/"[\w-]+"$/)
    expect(first.headers.get('cache-control')).toBe('private, no-cache')
    const again = await api(server.url, '/api/conversations/analytics?project_id=beta', { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.body).toBe('')
    expect(again.headers.get('etag')).toBe(etag)
    expect((await api(server.url, '/api/conversations/analytics?project_id=beta', { headers: { 'if-none-match': `"other", ${etag}` } })).status).toBe(304)
    await ingest(server, [message('b-etag', 'beta')])
    const changed = await api(server.url, '/api/conversations/analytics?project_id=beta', { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
    // Any JSON GET of the API, not only cached ones.
    const list = await api(server.url, '/api/conversations')
    expect((await api(server.url, '/api/conversations', { headers: { 'if-none-match': list.headers.get('etag')! } })).status).toBe(304)
    // Errors and writes carry no ETag.
    expect((await api(server.url, '/api/conversations/nope')).headers.get('etag')).toBeNull()
  })

  it('reports the memory cache in /health', async () => {
    const health = await api(server.url, '/health', { auth: false })
    expect(health.status).toBe(200)
    expect(health.body.services.cache).toBe('memory')
  })
})

describe('response cache in Redis', () => {
  const prefix = uniquePrefix('cache')
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    await assertRedisReachable(SHARED_REDIS_URL)
    const env = { REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: prefix }
    ;[a, b] = await Promise.all([startServer(env), startServer(env)])
    // Each test server has its own SQLite file (a real deployment shares one database); only
    // the cache is shared here, so cross-instance checks give both the same data.
    await ingest(a, [message('r-1', 'alpha')])
    await ingest(b, [message('r-1', 'alpha')])
  })
  afterAll(async () => {
    await Promise.all([a?.dispose(), b?.dispose()])
    await deleteKeys(prefix).catch(() => undefined)
  })

  it('reports redis in /health', async () => {
    await waitFor(async () => (await api(a.url, '/health', { auth: false })).body.services.cache === 'redis')
  })

  it('caches in Redis with a TTL, under the run prefix', async () => {
    await api(a.url, '/api/conversations/analytics?project_id=alpha')
    const before = await hits(a)
    await api(a.url, '/api/conversations/analytics?project_id=alpha')
    expect(await hits(a)).toBe(before + 1)
    const keys = await listKeys(prefix)
    expect(keys.some(k => k.startsWith(`${prefix}:cache:conversation_analytics:`))).toBe(true)
    expect(keys.some(k => k === `${prefix}:gen:p:alpha`)).toBe(true)
  })

  it('never serves an answer older than an ingest the client was told is stored', readAfterWriteChecks(() => a, () => a, 'alpha'))

  it('invalidates the other instance\'s cached answers too (the generations are in Redis)', async () => {
    // `b` fills the shared cache; a write through `a` bumps the generation both read.
    const path = '/api/conversations/analytics?project_id=gamma'
    await ingest(a, [message('g-a0', 'gamma')])
    await ingest(b, [message('g-a0', 'gamma')])
    const onB = (await api(b.url, path)).body
    expect((await api(b.url, path)).body).toEqual(onB)
    const bHits = await hits(b)
    await ingest(a, [message('g-a1', 'gamma')])
    // b's database did not get the message, so b recomputes the same figures — but it must
    // recompute (a miss), not answer from the entry written before a's ingest.
    expect((await api(b.url, path)).body).toEqual(onB)
    expect(await hits(b)).toBe(bHits)
  })
})

describe('response cache with Redis unreachable', () => {
  it('serves uncached within a second when REDIS_URL points where nothing listens', async () => {
    const port = await freePort()
    const server = await startServer({ REDIS_URL: `redis://127.0.0.1:${port}`, SENECA_REDIS_PREFIX: uniquePrefix('down'), SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '50' })
    try {
      await timed(server, '/api/ingest', { method: 'POST', json: { events: [message('d-1', 'alpha')] } })
      for (let i = 0; i < 5; i++) {
        const res = await timed(server, '/api/conversations/analytics?project_id=alpha')
        expect(res.status).toBe(200)
        expect(res.body.total_messages).toBe(1)
      }
      await timed(server, '/api/ingest', { method: 'POST', json: { events: [message('d-2', 'alpha')] } })
      expect((await timed(server, '/api/conversations/analytics?project_id=alpha')).body.total_messages).toBe(2)
      expect(await bypasses(server)).toBeGreaterThanOrEqual(6)
      const health = await timed(server, '/health', { auth: false })
      expect(health.status).toBe(200)
      expect(health.body.status).toBe('healthy')
      expect(health.body.services.cache).toMatch(/^redis: unavailable/)
      // Rate limits still count, in memory.
      expect((await timed(server, '/api/agents')).headers.get('ratelimit-limit')).toBe('50')
    }
    finally {
      await server.dispose()
    }
  })

  describe('a Redis that goes away mid-test and comes back', () => {
    let redis: ThrowawayRedis
    let server: TestServer
    const prefix = uniquePrefix('flap')
    beforeAll(async () => {
      redis = await startThrowawayRedis()
      server = await startServer({ REDIS_URL: redis.url, SENECA_REDIS_PREFIX: prefix })
      await ingest(server, [message('f-1', 'alpha')])
    })
    afterAll(async () => {
      await server?.dispose()
      await redis?.kill()
    })

    it('caches while up, answers uncached within a second while down, and caches again once back', async () => {
      const path = '/api/conversations/analytics?project_id=alpha'
      await waitFor(async () => (await api(server.url, '/health', { auth: false })).body.services.cache === 'redis')
      await api(server.url, path)
      const warm = await hits(server)
      expect((await api(server.url, path)).body.total_messages).toBe(1)
      expect(await hits(server)).toBe(warm + 1)

      await redis.kill()
      for (let i = 0; i < 5; i++) {
        const res = await timed(server, path)
        expect(res.status).toBe(200)
        expect(res.body.total_messages).toBe(1)
      }
      // A write while Redis is down: stored, answered fast, and read back fresh.
      await timed(server, '/api/ingest', { method: 'POST', json: { events: [message('f-2', 'alpha')] } })
      expect((await timed(server, path)).body.total_messages).toBe(2)
      const health = await timed(server, '/health', { auth: false })
      expect(health.status).toBe(200)
      expect(health.body.services.cache).toMatch(/^redis: unavailable/)

      await redis.start()
      await waitFor(async () => (await api(server.url, '/health', { auth: false })).body.services.cache === 'redis', 15_000)
      expect((await api(server.url, path)).body.total_messages).toBe(2)
      const resumed = await hits(server)
      expect((await api(server.url, path)).body.total_messages).toBe(2)
      expect(await hits(server)).toBe(resumed + 1)
    })
  })
})
