/** Small pieces of the gateway's HTTP policy: CORS origins, ETag matching, CSP nonces, body depth, loopback, metrics. */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { withinDepth } from '../../server/utils/body'
import { isLoopback } from '../../server/utils/config'
import { addScriptNonce, corsAllowOrigin, etagMatches, pageCsp } from '../../server/utils/headers'
import { observeIngest, observeRequest, registry, setCircuitBreakerState } from '../../server/utils/metrics'

describe('corsAllowOrigin', () => {
  const allowed = ['https://dash.example.com', 'http://localhost:5173/']
  it('names only configured origins, compared as browsers send them', () => {
    expect(corsAllowOrigin(allowed, 'https://dash.example.com')).toBe('https://dash.example.com')
    expect(corsAllowOrigin(allowed, 'http://localhost:5173')).toBe('http://localhost:5173')
    for (const origin of ['https://evil.example', 'https://dash.example.com.evil.example', 'null', 'http://localhost:5174', undefined]) {
      expect(corsAllowOrigin(allowed, origin)).toBeUndefined()
    }
    expect(corsAllowOrigin([], 'https://dash.example.com')).toBeUndefined()
    expect(corsAllowOrigin(['*'], 'https://anything.example')).toBe('*')
  })
})

describe('etagMatches', () => {
  it('compares weakly and understands lists and *', () => {
    expect(etagMatches('W/"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('"x", W/"abc"', 'W/"abc"')).toBe(true)
    expect(etagMatches('*', 'W/"abc"')).toBe(true)
    expect(etagMatches('W/"abd"', 'W/"abc"')).toBe(false)
    expect(etagMatches(undefined, 'W/"abc"')).toBe(false)
  })
})

describe('page CSP', () => {
  it('puts the nonce on every script tag and in the policy, allowing no other inline script', () => {
    expect(addScriptNonce('<script>a</script><script type="module" src="/x.js"></script><scripts>', 'N')).toBe('<script nonce="N">a</script><script nonce="N" type="module" src="/x.js"></script><scripts>')
    const csp = pageCsp('N')
    expect(csp).toContain(`script-src 'self' 'nonce-N'`)
    expect(csp).toContain(`frame-ancestors 'none'`)
    expect(csp).not.toMatch(/script-src[^;]*unsafe/)
  })
})

describe('withinDepth', () => {
  it('measures nesting without recursion', () => {
    expect(withinDepth({ a: [1, { b: 2 }] }, 3)).toBe(true)
    expect(withinDepth({ a: [1, { b: {} }] }, 3)).toBe(false)
    expect(withinDepth('text', 0)).toBe(true)
    expect(withinDepth(JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)), 64)).toBe(false)
  })
})

describe('isLoopback', () => {
  it('accepts only addresses that never leave the machine', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(host)).toBe(true)
    for (const host of ['', '0.0.0.0', '::', '10.0.0.1', '127.0.0.1.example.com']) expect(isLoopback(host)).toBe(false)
  })
})

describe('metrics', () => {
  it('bounds label values: unknown methods and kinds fold into one value each', async () => {
    observeRequest('BREW', '/api/coffee', 418, 0.01)
    observeIngest([{ kind: 'message' }, { kind: 'evil-kind-1' }, { kind: 'evil-kind-2' }, null], [{ status: 'stored' }, { status: 'rejected' }, { status: 'rejected' }, undefined], 'api:key_123', 0.002)
    setCircuitBreakerState('marcus-mcp', 'open')
    const text = await registry.metrics()
    expect(text).toContain('api_requests_total{method="OTHER",endpoint="/api/coffee",status="418"} 1')
    expect(text).toContain('ingest_events_total{kind="message",status="stored"} 1')
    expect(text).toContain('ingest_events_total{kind="unknown",status="rejected"} 3')
    expect(text).not.toContain('evil-kind')
    expect(text).toContain('ingest_duration_seconds_count{source="api"} 1')
    expect(text).toContain('circuit_breaker_state{breaker="marcus-mcp"} 2')
  })
})

describe('write routes', () => {
  const root = join(import.meta.dirname, '../../server')
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
  const writes = [...walk(join(root, 'api')), ...walk(join(root, 'routes'))].filter(f => /\.(post|put|patch|delete)\.ts$/.test(f))

  it('read their bodies only through readJsonBody, always with a byte limit', () => {
    expect(writes.length).toBeGreaterThan(5)
    for (const file of writes) {
      const source = readFileSync(file, 'utf8')
      expect(source, file).not.toMatch(/\b(readBody|readRawBody|readValidatedBody|readFormData|readMultipartFormData)\(/)
      for (const call of source.matchAll(/readJsonBody\(([^)]*)\)/g)) expect(call[1]!.split(',').length, `${file}: ${call[0]}`).toBe(2)
    }
  })
})

describe('verified JWTs', () => {
  it('are remembered, but never past their exp', async () => {
    const { SignJWT } = await import('jose')
    const { authenticate, resetAuthCache } = await import('../../server/utils/auth')
    process.env.SENECA_JWT_SECRET = 'unit-test-secret-0123456789abcdef'
    resetAuthCache()
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) })
    try {
      const now = Math.floor(Date.now() / 1000)
      const token = await new SignJWT({ role: 'viewer', projects: ['a'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('u')
        .setIssuedAt(now).setExpirationTime(now + 30).sign(new TextEncoder().encode(process.env.SENECA_JWT_SECRET))
      const first = await authenticate(token)
      expect(first).toMatchObject({ id: 'user:u', role: 'viewer', projects: ['a'] })
      expect(await authenticate(token)).toEqual(first)
      vi.setSystemTime(Date.UTC(2026, 0, 1) + 31_000)
      await expect(authenticate(token)).rejects.toMatchObject({ reason: 'expired' })
      // A forged token is never served from the cache of a good one.
      await expect(authenticate(`${token.slice(0, -2)}xx`)).rejects.toMatchObject({ reason: 'invalid' })
    }
    finally {
      vi.useRealTimers()
      delete process.env.SENECA_JWT_SECRET
      resetAuthCache()
    }
  })
})
