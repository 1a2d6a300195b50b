/**
 * Hardening at the gateway: CORS only for configured origins, security headers on the
 * dashboard and the API, and a table of hostile inputs — oversized and deeply nested bodies,
 * SQL and FTS syntax, broken cursors and encodings, odd unicode in every string parameter of
 * every GET route — each answered with a 4xx envelope (or a normal answer), never a 500 or a
 * stack trace, and nothing stored changes.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { api, repoRoot, startServer, type TestServer } from '../helpers/server'

function expectEnvelope(res: { status: number, body: any }, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) } })
}

describe('CORS', () => {
  let server: TestServer
  let plain: TestServer
  const allowed = 'https://dash.example.com'
  beforeAll(async () => {
    ;[server, plain] = await Promise.all([startServer({ SENECA_CORS_ORIGINS: `${allowed}, http://localhost:5173/` }), startServer()])
  })
  afterAll(async () => {
    await Promise.all([server?.dispose(), plain?.dispose()])
  })

  it('names an allowed origin, and exposes the gateway headers to it', async () => {
    const res = await api(server.url, '/api/conversations', { headers: { origin: allowed } })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed)
    expect(res.headers.get('vary')).toMatch(/Origin/)
    expect(res.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id.*ETag.*RateLimit-Remaining/)
    expect((await api(server.url, '/health', { auth: false, headers: { origin: 'http://localhost:5173' } })).headers.get('access-control-allow-origin')).toBe('http://localhost:5173')
  })

  it('never reflects another origin', async () => {
    for (const origin of ['https://evil.example', 'https://dash.example.com.evil.example', 'null', 'https://dash.example.co']) {
      const res = await api(server.url, '/api/conversations', { headers: { origin } })
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('answers a preflight from an allowed origin with 204, before authentication', async () => {
    const res = await api(server.url, '/api/ingest', {
      method: 'OPTIONS', auth: false,
      headers: { 'origin': allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(allowed)
    expect(res.headers.get('access-control-allow-methods')).toMatch(/POST/)
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Authorization.*Content-Type/)
    expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0)
  })

  it('refuses a preflight from any other origin', async () => {
    const res = await api(server.url, '/api/ingest', { method: 'OPTIONS', auth: false, headers: { 'origin': 'https://evil.example', 'access-control-request-method': 'POST' } })
    expectEnvelope(res, 403, 'FORBIDDEN')
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sends no CORS headers at all by default (same origin only)', async () => {
    const res = await api(plain.url, '/api/conversations', { headers: { origin: allowed } })
    expect(res.status).toBe(200)
    expect([...res.headers.keys()].filter(k => k.startsWith('access-control-'))).toEqual([])
    const preflight = await api(plain.url, '/api/conversations', { method: 'OPTIONS', auth: false, headers: { 'origin': allowed, 'access-control-request-method': 'GET' } })
    expect(preflight.status).toBe(403)
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('security headers', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.dispose()
  })

  it('protects the dashboard: CSP with a per-response nonce, nosniff, referrer, framing, permissions', async () => {
    const first = await fetch(`${server.url}/`)
    const html = await first.text()
    expect(first.status).toBe(200)
    const csp = first.headers.get('content-security-policy')!
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce).toBeTruthy()
    expect(csp).toMatch(/script-src 'self' 'nonce-/)
    expect(csp).toMatch(/frame-ancestors 'none'/)
    expect(csp).toMatch(/object-src 'none'/)
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/)
    expect(first.headers.get('x-content-type-options')).toBe('nosniff')
    expect(first.headers.get('referrer-policy')).toBe('no-referrer')
    expect(first.headers.get('x-frame-options')).toBe('DENY')
    expect(first.headers.get('permissions-policy')).toMatch(/camera=\(\)/)
    // Every script tag Nuxt rendered carries this response's nonce.
    const scripts = html.match(/<script\b[^>]*>/g) ?? []
    expect(scripts.length).toBeGreaterThan(0)
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`)
    const second = await fetch(`${server.url}/`)
    await second.text()
    expect(/'nonce-([^']+)'/.exec(second.headers.get('content-security-policy')!)?.[1]).not.toBe(nonce)
  })

  it('sends nosniff and a locked-down CSP with API answers, errors included', async () => {
    for (const res of [await api(server.url, '/api/conversations'), await api(server.url, '/api/nope'), await api(server.url, '/api/conversations', { auth: false })]) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('content-security-policy')).toBe(`default-src 'none'; frame-ancestors 'none'`)
    }
  })
})

describe('SENECA_GATEWAY=off', () => {
  it('is refused unless the server listens on loopback', async () => {
    await expect(startServer({ SENECA_GATEWAY: 'off', HOST: '0.0.0.0' })).rejects.toThrow(/SENECA_GATEWAY=off .*loopback/)
  })

  it('on loopback: no authentication or rate limits, and a loud warning', async () => {
    const server = await startServer({ SENECA_GATEWAY: 'off', SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '1' })
    try {
      for (let i = 0; i < 3; i++) {
        const res = await api(server.url, '/api/conversations', { auth: false })
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit-limit')).toBeNull()
      }
      expect(server.output()).toMatch(/SENECA_GATEWAY=off: NO authentication/)
    }
    finally {
      await server.dispose()
    }
  })
})

// ---------------------------------------------------------------------------------------

/** GET routes and their string parameters (path parameters in braces). The served OpenAPI document adds any route missing here. */
const getRoutes: { path: string, query: string[] }[] = [
  { path: '/api/conversations', query: ['limit', 'offset', 'cursor', 'agent_id', 'project_id', 'since'] },
  { path: '/api/conversations/{id}', query: [] },
  { path: '/api/conversations/{id}/messages', query: ['limit', 'before', 'after'] },
  { path: '/api/conversations/analytics', query: ['project_id', 'agent_id', 'since', 'until'] },
  { path: '/api/conversations/search', query: ['q', 'project_id', 'agent_id', 'conversation_id', 'since', 'sort', 'limit', 'offset'] },
  { path: '/api/projects/{project_id}/conversations', query: ['limit', 'offset', 'cursor', 'agent_id', 'since'] },
  { path: '/api/agents', query: ['project_id', 'status'] },
  { path: '/api/tasks', query: ['limit', 'offset', 'project_id', 'status', 'agent_id'] },
  { path: '/api/tasks/{id}', query: [] },
  { path: '/api/blockers', query: ['limit', 'offset', 'project_id', 'status', 'severity', 'agent_id', 'task_id'] },
  { path: '/api/decisions', query: ['limit', 'offset', 'project_id', 'agent_id', 'task_id'] },
  { path: '/api/events', query: ['limit', 'since_seq', 'kind', 'type', 'source', 'project_id'] },
  { path: '/api/events/stats', query: ['project_id'] },
  { path: '/api/audit', query: ['limit', 'before_seq', 'principal', 'action', 'project_id', 'result', 'since', 'until'] },
  { path: '/api/keys', query: [] },
  { path: '/api/connectors', query: [] },
]

/** Query values, URL-encoded by the test. */
const hostileValues = [
  `' OR '1'='1`, `1; DROP TABLE events; --`, `" OR ""="`, `') UNION SELECT key_hash FROM api_keys --`, `1' AND sleep(5) --`,
  `NEAR(a b, 2)`, `a* OR b:c ^d`, `"unbalanced`, `content:x`, `-not`, `*`, `AND`, `(`, `)`, `{x y}`,
  `%`, `_`, `\\`, `\u0000`, `\u0000' --`, `😀🚀`, `Größe`, `中文测试`, `\u202Eevil`, `\uFEFF`, `x`.repeat(5000),
  `../../etc/passwd`, `<script>alert(1)</script>`, `{"$gt":""}`, `-1`, `1e308`, `NaN`, `9`.repeat(40), `0x10`, ` `, ``,
  Buffer.from('[1,"x",3]').toString('base64url'), Buffer.from('["a","b"]').toString('base64url'), Buffer.from('[1e400,"x"]').toString('base64url'),
]
/** Already-encoded oddities: bad UTF-8, a lone surrogate, a broken escape. */
const rawValues = ['%FF%FE', '%ED%A0%80', '%', '%E0%A4%A', '%C0%AE%C0%AE%2F']

describe('hostile inputs', () => {
  let server: TestServer
  let baseline: unknown
  const failures: string[] = []

  const check = async (method: string, path: string, init: Parameters<typeof api>[2] = {}) => {
    let res: { status: number, body: any, headers: Headers }
    try {
      res = await api(server.url, path, { method, ...init })
    }
    catch (error) {
      failures.push(`${method} ${path.slice(0, 120)}: request failed (${(error as Error).message})`)
      return undefined
    }
    const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body)
    if (res.status >= 500) failures.push(`${method} ${path.slice(0, 120)}: ${res.status} ${text.slice(0, 200)}`)
    else if (res.status >= 400 && !(res.body?.error?.code && res.body.error.request_id)) failures.push(`${method} ${path.slice(0, 120)}: ${res.status} without the envelope: ${text.slice(0, 200)}`)
    if (/\n\s+at\s|node_modules|\.mjs:\d+/.test(text)) failures.push(`${method} ${path.slice(0, 120)}: a stack trace in the answer`)
    return res
  }

  const snapshot = async () => ({
    stats: (await api(server.url, '/api/events/stats')).body,
    conversations: (await api(server.url, '/api/conversations?limit=200')).body.total,
    keys: (await api(server.url, '/api/keys')).body.keys?.length,
  })

  beforeAll(async () => {
    server = await startServer()
    const seeded = await api(server.url, '/api/ingest', {
      method: 'POST',
      json: { events: [
        { kind: 'message', id: 'h-1', project_id: 'alpha', conversation_id: 'c-1', sender: 'a', recipient: 'b', content: 'hello world' },
        { kind: 'task.upserted', project_id: 'alpha', task_id: 't-1', name: 'task' },
        { kind: 'project.upserted', project_id: 'alpha', name: 'Alpha' },
      ] },
    })
    expect(seeded.status).toBe(200)
    baseline = await snapshot()
  })
  afterAll(async () => {
    await server?.dispose()
  })
  beforeEach(() => {
    failures.length = 0
  })

  it('answers SQL, FTS syntax, unicode and broken encodings in every string parameter of every GET route without a 500', async () => {
    const routes = [...getRoutes]
    const doc = await api(server.url, '/api/openapi.json', { auth: false })
    if (doc.status === 200 && doc.body?.paths) {
      for (const [path, item] of Object.entries<any>(doc.body.paths)) {
        if (!item.get || routes.some(r => r.path === path) || /stream/.test(path)) continue
        routes.push({ path, query: (item.get.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name) })
      }
    }
    const requests: string[] = []
    const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, value)
    for (const route of routes) {
      const plain = fill(route.path, 'c-1')
      for (const raw of [...hostileValues.map(encodeURIComponent), ...rawValues]) {
        if (route.path.includes('{')) requests.push(fill(route.path, raw))
        for (const param of route.query) requests.push(`${plain}?${param}=${raw}`)
      }
      // A repeated parameter, and parameters nobody asked for.
      if (route.query[0]) requests.push(`${plain}?${route.query[0]}=1&${route.query[0]}=2`)
      requests.push(`${plain}?__proto__[x]=1&constructor[prototype][y]=2`)
    }
    // Eight at a time.
    for (let i = 0; i < requests.length; i += 8) await Promise.all(requests.slice(i, i + 8).map(p => check('GET', p)))
    expect(failures).toEqual([])
    expect(requests.length).toBeGreaterThan(1000)
  })

  it('refuses cursors it did not issue with 400 INVALID_CURSOR', async () => {
    for (const cursor of ['garbage', 'eyJ4IjoxfQ', Buffer.from('[1,"x",3]').toString('base64url'), Buffer.from('["a","b"]').toString('base64url'), 'a'.repeat(1024)]) {
      expectEnvelope(await api(server.url, `/api/conversations?cursor=${cursor}`), 400, 'INVALID_CURSOR')
    }
    expectEnvelope(await api(server.url, '/api/conversations?cursor=' + 'a'.repeat(2000)), 400, 'VALIDATION_FAILED')
    expectEnvelope(await api(server.url, '/api/conversations/c-1/messages?before=no-such-message'), 404, 'MESSAGE_NOT_FOUND')
  })

  it('refuses oversized bodies on every write route with 413, declared or streamed', async () => {
    const writes: [string, string, number][] = [
      ['POST', '/api/ingest', 5 * 1024 * 1024],
      ['POST', '/api/conversations/batch', 64 * 1024],
      ['POST', '/api/keys', 16 * 1024],
      ['POST', '/api/projects', 256 * 1024],
      ['PUT', '/api/projects/alpha/features', 64 * 1024],
      ['POST', '/api/conversations/c-1/stream', 16 * 1024],
    ]
    for (const [method, path, limit] of writes) {
      const body = `{"pad":"${'x'.repeat(limit)}"}`
      const declared = await check(method, path, { body, headers: { 'content-type': 'application/json' } })
      expect(declared?.status, `${method} ${path}`).toBe(413)
      expect(declared?.body.error.code).toBe('PAYLOAD_TOO_LARGE')
      // Without Content-Length: the limit holds while reading.
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
          controller.enqueue(new TextEncoder().encode('{"pad":"'))
          for (let sent = 0; sent <= limit; sent += chunk.length) controller.enqueue(chunk)
          controller.enqueue(new TextEncoder().encode('"}'))
          controller.close()
        },
      })
      const streamed = await check(method, path, { body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)
      expect(streamed?.status, `${method} ${path} (chunked)`).toBe(413)
    }
    expect(failures).toEqual([])
  })

  it('refuses 6 MB on every write route there is (route files found on disk), never storing or failing', async () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
    const apiDir = join(repoRoot, 'server/api')
    const routes = walk(apiDir).flatMap((file) => {
      const m = /^(.*?)(?:\/index)?\.(post|put|patch|delete)\.ts$/.exec(file.slice(apiDir.length))
      return m ? [[m[2]!.toUpperCase(), `/api${m[1]!.replace(/\[[^\]]+\]/g, 'alpha')}`] as const] : []
    })
    expect(routes.length).toBeGreaterThan(5)
    const body = `{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}`
    for (const [method, path] of routes) {
      const res = await check(method, path, { body, headers: { 'content-type': 'application/json' } })
      // 413 where a body is read; a route that takes none may refuse first (404 unknown id, …).
      expect(res && res.status >= 400 && res.status < 500, `${method} ${path}: ${res?.status}`).toBe(true)
    }
    expect(failures).toEqual([])
  })

  it('survives 10,000 levels of nesting in every write route', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n)
    const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
    const bodies: [string, string, string][] = [
      ['POST', '/api/ingest', `{"events":[{"kind":"message","id":"deep-1","sender":"a","content":"x","metadata":${deepObject(10_000)}}]}`],
      ['POST', '/api/ingest', `{"events":${deep(10_000)}}`],
      ['POST', '/api/ingest', deep(100_000)],
      ['POST', '/api/conversations/batch', `{"conversation_ids":${deep(10_000)}}`],
      ['POST', '/api/keys', `{"name":"x","role":"viewer","projects":${deep(10_000)}}`],
      ['POST', '/api/projects', `{"project_id":"deep","name":${deepObject(10_000)}}`],
      ['PUT', '/api/projects/alpha/features', deepObject(10_000)],
    ]
    for (const [method, path, body] of bodies) {
      const res = await check(method, path, { body, headers: { 'content-type': 'application/json' } })
      // Refused for its depth, or first for its size where the route's limit is smaller than the body.
      expect([400, 413], `${method} ${path}`).toContain(res?.status)
      if (res?.status === 400) expect(res.body.error.message, `${method} ${path}`).toMatch(/nests deeper than 64 levels/)
    }
    expect(failures).toEqual([])
    expect((await api(server.url, '/health', { auth: false })).status).toBe(200)
  })

  it('answers malformed JSON, wrong types and odd encodings with 4xx envelopes', async () => {
    const cases: [string, string, RequestInit][] = [
      ['POST', '/api/ingest', { body: '{"events":[', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/ingest', { body: '', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/ingest', { body: 'events=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }],
      ['POST', '/api/ingest', { body: '{"events":"nope"}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/ingest', { body: '{"events":[null, 1, "x", [], {"kind":{"$ne":1}}]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/ingest', { body: Buffer.from([0xFF, 0xFE, 0x7B, 0x7D]), headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/conversations/batch', { body: '{"conversation_ids":[1,2,{"a":1}]}', headers: { 'content-type': 'application/json' } }],
      ['POST', '/api/keys', { body: '{"name":"x","role":"admin","projects":["*"],"__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } }],
    ]
    for (const [method, path, init] of cases) {
      const res = await check(method, path, init)
      // An ingest batch answers per item (207) when some items are bad; everything else is a 4xx.
      expect(res?.status === 207 || (res!.status >= 400 && res!.status < 500), `${method} ${path}: ${res?.status}`).toBe(true)
    }
    expect(failures).toEqual([])
  })

  it('changed nothing that was stored', async () => {
    // The refused bodies above stored nothing (the only writes that succeed are rejected items of 207 batches).
    const after = await snapshot()
    expect(after).toEqual(baseline)
  })
})
