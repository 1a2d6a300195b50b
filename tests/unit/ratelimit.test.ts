/** Rate-limit policies and decisions, counted in memory. */
import { beforeEach, describe, expect, it } from 'vitest'
import { consume, ingestCost, peek, policyFor, ratePolicies, resetRateLimits } from '../../server/utils/ratelimit'

const policies = ratePolicies({ enabled: true, perMinute: 3, perHour: 5, ingestEventsPerMinute: 10 })

describe('policyFor', () => {
  it('limits the API, with overrides from the table, and leaves health, the WebSocket and pages alone', () => {
    expect(policyFor('GET', '/api/conversations')).toBe('default')
    expect(policyFor('POST', '/api/ingest')).toBe('ingest')
    expect(policyFor('GET', '/api/ingest')).toBe('default')
    expect(policyFor('GET', '/api/conversations/search')).toBe('search')
    expect(policyFor('POST', '/api/keys')).toBe('keys')
    expect(policyFor('DELETE', '/api/keys/key_1')).toBe('keys')
    expect(policyFor('GET', '/api/keys')).toBe('default')
    for (const path of ['/api/health', '/api/ws', '/health', '/metrics', '/', '/_nuxt/entry.js']) expect(policyFor('GET', path)).toBeUndefined()
  })
})

describe('consume and peek', () => {
  beforeEach(() => resetRateLimits())

  it('describes the window closest to exhaustion and refuses past it', async () => {
    const decisions = []
    for (let i = 0; i < 4; i++) decisions.push(await consume(policies.default!, 'user:a'))
    expect(decisions.map(d => [d.allowed, d.limit, d.remaining])).toEqual([[true, 3, 2], [true, 3, 1], [true, 3, 0], [false, 3, 0]])
    expect(decisions[3]!.resetSeconds).toBeGreaterThan(0)
    expect(decisions[3]!.resetSeconds).toBeLessThanOrEqual(60)
    expect((await consume(policies.default!, 'user:b')).remaining).toBe(2)
  })

  it('refunds a refused event batch, so only what was accepted counts', async () => {
    expect((await consume(policies.ingest!, 'user:i', 8)).remaining).toBe(2)
    const refused = await consume(policies.ingest!, 'user:i', 5)
    expect(refused).toMatchObject({ allowed: false, remaining: 2 })
    expect((await peek(policies.ingest!, 'user:i')).remaining).toBe(2)
    expect((await consume(policies.ingest!, 'user:i', 2))).toMatchObject({ allowed: true, remaining: 0 })
    expect((await peek(policies.ingest!, 'user:i')).allowed).toBe(false)
  })

  it('peeks without spending', async () => {
    expect(await peek(policies.ingest!, 'user:p')).toMatchObject({ allowed: true, remaining: 10, limit: 10 })
    expect(await peek(policies.ingest!, 'user:p')).toMatchObject({ remaining: 10 })
  })

  it('prices an ingest body by its events, an empty or odd one as 1', () => {
    expect(ingestCost({ events: [1, 2, 3] })).toBe(3)
    expect(ingestCost({ events: [] })).toBe(1)
    expect(ingestCost(null)).toBe(1)
    expect(ingestCost({ events: 'x' })).toBe(1)
  })
})
