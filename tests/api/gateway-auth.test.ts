/**
 * The gateway's authentication, roles, project scoping, API keys and audit log, as clients
 * see them: tokens minted independently with jose, keys created through the API.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT, UnsecuredJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, mintTestToken, startServer, TEST_JWT_SECRET, type TestServer, waitFor } from '../helpers/server'

let server: TestServer

function expectEnvelope(res: { status: number, body: any }, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) } })
}

const ingestAs = (credential: string | false, events: unknown[]) => api(server.url, '/api/ingest', { method: 'POST', json: { events }, auth: credential })

async function createKey(role: string, projects: string[]) {
  const res = await api(server.url, '/api/keys', { method: 'POST', json: { name: `${role} key`, role, projects } })
  expect(res.status).toBe(201)
  return res.body as { id: string, key: string }
}

beforeAll(async () => {
  server = await startServer()
  const seed = (project: string) => [
    { kind: 'message', id: `${project}-m1`, project_id: project, conversation_id: `${project}-conv`, sender: `${project}-agent`, recipient: 'boss', content: `hello from ${project}` },
    { kind: 'agent.registered', project_id: project, agent_id: `${project}-agent`, name: project },
    { kind: 'task.upserted', project_id: project, task_id: `${project}-task`, name: `task of ${project}` },
    { kind: 'blocker.reported', project_id: project, task_id: `${project}-task`, description: 'stuck', severity: 'low' },
    { kind: 'decision.logged', project_id: project, decision: `decide ${project}` },
  ]
  const res = await ingestAs(server.adminKey, [...seed('alpha'), ...seed('beta')])
  expect(res.body.rejected).toBe(0)
})

afterAll(async () => {
  await server?.dispose()
})

describe('authentication', () => {
  it('refuses a request without credentials with 401 and WWW-Authenticate', async () => {
    const res = await api(server.url, '/api/conversations', { auth: false })
    expectEnvelope(res, 401, 'UNAUTHORIZED')
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
  })

  it('accepts a JWT minted with the server secret, with sub or user_id', async () => {
    expect((await api(server.url, '/api/conversations', { auth: await mintTestToken({ role: 'viewer' }) })).status).toBe(200)
    const userIdToken = await new SignJWT({ user_id: 'u1', role: 'viewer', projects: ['alpha'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    expect((await api(server.url, '/api/conversations', { auth: userIdToken })).status).toBe(200)
  })

  it('tells any credential who it is at /api/me', async () => {
    const viewer = await api(server.url, '/api/me', { auth: await mintTestToken({ role: 'viewer', projects: ['alpha'], sub: 'ana' }) })
    expect(viewer.status).toBe(200)
    expect(viewer.body).toMatchObject({ id: 'user:ana', kind: 'jwt', role: 'viewer', projects: ['alpha'] })
    expect(Date.parse(viewer.body.expires_at)).toBeGreaterThan(Date.now())
    const ingestKey = (await api(server.url, '/api/keys', { method: 'POST', json: { name: 'me-ingest', role: 'ingest', projects: ['*'] } })).body.key
    expect((await api(server.url, '/api/me', { auth: ingestKey })).body).toMatchObject({ kind: 'api_key', role: 'ingest', projects: '*', expires_at: null })
    expect((await api(server.url, '/api/me', { auth: false })).status).toBe(401)
  })

  it('refuses forged, expired, unsigned and other-algorithm tokens with 401', async () => {
    const forged = await mintTestToken({ secret: 'not-the-secret' })
    const expired = await mintTestToken({ expiresIn: Math.floor(Date.now() / 1000) - 60 })
    const none = new UnsecuredJWT({ role: 'admin', projects: ['*'] }).setSubject('x').setExpirationTime('1h').encode()
    const hs512 = await new SignJWT({ role: 'admin', projects: ['*'] }).setProtectedHeader({ alg: 'HS512' }).setSubject('x').setExpirationTime('1h')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET))
    const [header, payload] = (await mintTestToken()).split('.')
    const tampered = `${header}.${Buffer.from(JSON.stringify({ sub: 'x', role: 'admin', projects: ['*'], exp: 9999999999 })).toString('base64url')}.${payload}`
    for (const token of [forged, expired, none, hs512, tampered, 'garbage', 'a.b.c']) {
      expectEnvelope(await api(server.url, '/api/conversations', { auth: token }), 401, 'UNAUTHORIZED')
    }
    expect((await api(server.url, '/api/conversations', { auth: expired })).body.error.details.reason).toBe('expired')
  })

  it('refuses tokens without a valid role or projects claim', async () => {
    const bad = [
      new SignJWT({ role: 'superuser', projects: ['*'] }),
      new SignJWT({ role: 'admin' }),
      new SignJWT({ role: 'admin', projects: 'alpha' }),
    ]
    for (const jwt of bad) {
      const token = await jwt.setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode(TEST_JWT_SECRET))
      expectEnvelope(await api(server.url, '/api/conversations', { auth: token }), 401, 'UNAUTHORIZED')
    }
  })

  it('takes an API key as a bearer token or in X-API-Key', async () => {
    const { key } = await createKey('viewer', ['alpha'])
    expect((await api(server.url, '/api/conversations', { auth: key })).status).toBe(200)
    expect((await api(server.url, '/api/conversations', { auth: false, headers: { 'x-api-key': key } })).status).toBe(200)
    expectEnvelope(await api(server.url, '/api/conversations', { auth: 'sk_unknown_key_00000000000000000000' }), 401, 'UNAUTHORIZED')
  })

  it('leaves health and the WebSocket path open', async () => {
    expect((await api(server.url, '/health', { auth: false })).status).toBe(200)
    expect((await api(server.url, '/api/health', { auth: false })).status).toBe(200)
  })
})

describe('API keys', () => {
  it('shows a created key once, lists it without the secret, and revokes it', async () => {
    const created = await createKey('member', ['alpha'])
    expect(created.key).toMatch(/^sk_/)
    const list = await api(server.url, '/api/keys')
    const listed = list.body.keys.find((k: any) => k.id === created.id)
    expect(listed).toMatchObject({ role: 'member', projects: ['alpha'], active: true, prefix: created.key.slice(0, 10) })
    expect(JSON.stringify(list.body)).not.toContain(created.key)
    expect((await api(server.url, '/api/conversations', { auth: created.key })).status).toBe(200)
    const revoked = await api(server.url, `/api/keys/${created.id}`, { method: 'DELETE' })
    expect(revoked.body).toMatchObject({ id: created.id, active: false, revoked_now: true })
    const after = await api(server.url, '/api/conversations', { auth: created.key })
    expectEnvelope(after, 401, 'UNAUTHORIZED')
    expect(after.body.error.details.reason).toBe('revoked')
    expectEnvelope(await api(server.url, '/api/keys/key_nope', { method: 'DELETE' }), 404, 'KEY_NOT_FOUND')
  })

  it('validates a new key strictly', async () => {
    for (const body of [{}, { name: 'x', role: 'root', projects: ['*'] }, { name: 'x', role: 'viewer', projects: [] }, { name: 'x', role: 'viewer', projects: ['a'], extra: 1 }]) {
      expectEnvelope(await api(server.url, '/api/keys', { method: 'POST', json: body }), 400, 'VALIDATION_FAILED')
    }
  })

  it('lets only admins manage keys and read the audit log', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['alpha'] })
    expectEnvelope(await api(server.url, '/api/keys', { auth: member }), 403, 'FORBIDDEN')
    expectEnvelope(await api(server.url, '/api/keys', { method: 'POST', json: { name: 'x', role: 'admin', projects: ['*'] }, auth: member }), 403, 'FORBIDDEN')
    expectEnvelope(await api(server.url, '/api/audit', { auth: member }), 403, 'FORBIDDEN')
    expectEnvelope(await api(server.url, '/api/connectors', { auth: member }), 403, 'FORBIDDEN')
  })
})

describe('roles', () => {
  it('lets an ingest key ingest and nothing else', async () => {
    const { key } = await createKey('ingest', ['alpha'])
    const res = await ingestAs(key, [{ kind: 'message', sender: 'x', content: 'via ingest key' }])
    expect(res.status).toBe(200)
    expectEnvelope(await api(server.url, '/api/conversations', { auth: key }), 403, 'FORBIDDEN')
    expectEnvelope(await api(server.url, '/api/agents', { auth: key }), 403, 'FORBIDDEN')
  })

  it('lets a viewer read and not write', async () => {
    const viewer = await mintTestToken({ role: 'viewer', projects: ['alpha'] })
    expect((await api(server.url, '/api/tasks', { auth: viewer })).status).toBe(200)
    expect((await api(server.url, '/api/conversations/batch', { method: 'POST', json: { conversation_ids: ['alpha-conv'] }, auth: viewer })).status).toBe(200)
    expectEnvelope(await ingestAs(viewer, [{ kind: 'message', sender: 'x', content: 'no' }]), 403, 'FORBIDDEN')
  })

  it('writes an event without a project into the only project of a scoped sender', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['alpha'] })
    const res = await ingestAs(member, [{ kind: 'message', id: 'scoped-1', sender: 's', content: 'where do I go' }])
    expect(res.body.stored).toBe(1)
    const events = await api(server.url, '/api/events?kind=message&project_id=alpha&limit=1000')
    expect(events.body.events.some((e: any) => e.id === 'scoped-1')).toBe(true)
  })

  it('rejects, per event, writes into a project outside the sender\'s scope', async () => {
    const member = await mintTestToken({ role: 'member', projects: ['alpha'] })
    const res = await ingestAs(member, [
      { kind: 'message', project_id: 'alpha', sender: 's', content: 'ok' },
      { kind: 'message', project_id: 'beta', sender: 's', content: 'not mine' },
    ])
    expect(res.status).toBe(207)
    expect(res.body.results.map((r: any) => r.status)).toEqual(['stored', 'rejected'])
    expect(res.body.results[1].error.code).toBe('FORBIDDEN')
  })
})

describe('project scoping', () => {
  let alpha: string

  beforeAll(async () => {
    alpha = await mintTestToken({ role: 'member', projects: ['alpha'] })
  })

  it('answers 403 when a project outside the scope is asked for, on every list', async () => {
    for (const path of ['/api/conversations?project_id=beta', '/api/projects/beta/conversations', '/api/conversations/search?q=hello&project_id=beta',
      '/api/conversations/analytics?project_id=beta', '/api/agents?project_id=beta', '/api/tasks?project_id=beta', '/api/blockers?project_id=beta',
      '/api/decisions?project_id=beta', '/api/events?project_id=beta', '/api/events/stats?project_id=beta']) {
      expectEnvelope(await api(server.url, path, { auth: alpha }), 403, 'FORBIDDEN')
    }
  })

  it('answers 404 for a resource of a project outside the scope', async () => {
    expectEnvelope(await api(server.url, '/api/conversations/beta-conv', { auth: alpha }), 404, 'CONVERSATION_NOT_FOUND')
    expectEnvelope(await api(server.url, '/api/conversations/beta-conv/messages', { auth: alpha }), 404, 'CONVERSATION_NOT_FOUND')
    expectEnvelope(await api(server.url, '/api/tasks/beta-task', { auth: alpha }), 404, 'TASK_NOT_FOUND')
    expect((await api(server.url, '/api/conversations/alpha-conv', { auth: alpha })).status).toBe(200)
    const batch = await api(server.url, '/api/conversations/batch', { method: 'POST', json: { conversation_ids: ['alpha-conv', 'beta-conv'] }, auth: alpha })
    expect(batch.body.results.map((r: any) => r.status)).toEqual(['found', 'not_found'])
  })

  it('shows only the scope\'s rows in unfiltered lists and searches', async () => {
    const lists: [string, string][] = [['/api/conversations', 'conversations'], ['/api/agents', 'agents'], ['/api/tasks', 'tasks'],
      ['/api/blockers', 'blockers'], ['/api/decisions', 'decisions'], ['/api/events?limit=1000', 'events']]
    for (const [path, field] of lists) {
      const res = await api(server.url, path, { auth: alpha })
      expect(res.status).toBe(200)
      expect(res.body[field].length).toBeGreaterThan(0)
      expect(res.body[field].every((r: any) => r.project_id === 'alpha')).toBe(true)
    }
    const search = await api(server.url, '/api/conversations/search?q=hello', { auth: alpha })
    expect(search.body.results.map((r: any) => r.message.content)).toEqual(['hello from alpha'])
    const stats = await api(server.url, '/api/events/stats', { auth: alpha })
    const all = await api(server.url, '/api/events/stats')
    expect(stats.body.total).toBeLessThan(all.body.total)
  })

  it('gives cross-project analytics to admins only', async () => {
    expect((await api(server.url, '/api/conversations/analytics')).status).toBe(200)
    const both = await mintTestToken({ role: 'member', projects: ['alpha', 'beta'] })
    expectEnvelope(await api(server.url, '/api/conversations/analytics', { auth: both }), 403, 'FORBIDDEN')
    expect((await api(server.url, '/api/conversations/analytics?project_id=beta', { auth: both })).status).toBe(200)
    const one = await api(server.url, '/api/conversations/analytics', { auth: alpha })
    expect(one.status).toBe(200)
    expect(one.body.total_conversations).toBe((await api(server.url, '/api/conversations/analytics?project_id=alpha')).body.total_conversations)
  })
})

describe('audit log', () => {
  it('records writes, key changes and denied access with who, what and the request id', async () => {
    const { id } = await createKey('viewer', ['beta'])
    const viewer = await mintTestToken({ role: 'viewer', projects: ['alpha'], sub: 'auditee' })
    const denied = await api(server.url, '/api/conversations?project_id=beta', { auth: viewer })
    await api(server.url, '/api/conversations', { auth: 'forged' })
    await waitFor(async () => (await api(server.url, '/api/audit?result=denied')).body.entries.length >= 2)
    const created = await api(server.url, '/api/audit?action=key.created')
    expect(created.body.entries.find((e: any) => e.target === id)).toMatchObject({ principal: expect.stringMatching(/^key:/), result: 'success' })
    const deniedRows = (await api(server.url, '/api/audit?result=denied')).body.entries
    expect(deniedRows.find((e: any) => e.request_id === denied.headers.get('x-request-id'))).toMatchObject({
      principal: 'user:auditee', project_id: 'beta', result: 'denied',
    })
    expect(deniedRows.filter((e: any) => e.details.status === 401).map((e: any) => e.principal)).toContain(null)
    const ingests = (await api(server.url, '/api/audit?action=ingest')).body.entries
    expect(ingests.length).toBeGreaterThan(0)
    const reads = (await api(server.url, '/api/audit?action=GET')).body.entries
    expect(reads.filter((e: any) => e.result !== 'denied')).toEqual([])
  })

  it('pages with before_seq', async () => {
    const first = await api(server.url, '/api/audit?limit=2')
    expect(first.body.entries).toHaveLength(2)
    const next = await api(server.url, `/api/audit?limit=2&before_seq=${first.body.next_before_seq}`)
    expect(next.body.entries[0].seq).toBeLessThan(first.body.entries[1].seq)
  })
})

describe('first start with no configuration', () => {
  it('generates a secret in the data directory and prints a one-time admin key that works', async () => {
    const fresh = await startServer({ SENECA_JWT_SECRET: undefined, SENECA_ADMIN_KEY: undefined })
    try {
      const secretFile = join(fresh.dataDir, 'jwt-secret')
      expect(existsSync(secretFile)).toBe(true)
      expect(statSync(secretFile).mode & 0o777).toBe(0o600)
      expect(readFileSync(secretFile, 'utf8').length).toBeGreaterThan(40)
      const key = /admin key: (sk_\S+)/.exec(fresh.output())?.[1]
      expect(key).toBeDefined()
      expect(fresh.output()).toContain(`/login#key=${key}`)
      expect((await api(fresh.url, '/api/keys', { auth: key! })).status).toBe(200)
      await fresh.restart()
      expect(fresh.output()).not.toContain('admin key:')
      expect((await api(fresh.url, '/api/keys', { auth: key! })).status).toBe(200)
    }
    finally {
      await fresh.dispose()
    }
  })
})
