/** POST /api/ingest, errors and health, as a client sees them on the built server. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, startServer, type TestServer } from '../helpers/server'

let server: TestServer
const post = (body: unknown, headers: Record<string, string> = {}) =>
  api(server.url, '/api/ingest', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } })

function expectEnvelope(body: any, code: string) {
  expect(body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.stringMatching(/\S/) } })
}

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.dispose()
})

describe('POST /api/ingest', () => {
  it('answers per event, in order, with stored, duplicate and rejected', async () => {
    const { status, body } = await post({ events: [
      { kind: 'message', id: 'i-1', sender: 'a', recipient: 'b', content: 'one' },
      { kind: 'message', id: 'i-1', sender: 'a', recipient: 'b', content: 'one' },
      { kind: 'message', id: 'i-bad', sender: 'a' },
      { kind: 'unheard.of', id: 'i-odd' },
      { kind: 'agent.registered', agent_id: 'a', name: 'Agent A' },
    ] })
    expect(status).toBe(207)
    expect(body.results.map((r: any) => [r.id, r.status])).toEqual([
      ['i-1', 'stored'], ['i-1', 'duplicate'], ['i-bad', 'rejected'], ['i-odd', 'rejected'], [expect.any(String), 'stored'],
    ])
    expect(body.results[2].error.code).toBe('VALIDATION_FAILED')
    expect(body.results[3].error.code).toBe('UNKNOWN_EVENT_KIND')
    expect(body).toMatchObject({ stored: 2, duplicates: 1, rejected: 2 })
  })

  it('answers 200 when every event is stored, and a re-send of the batch changes nothing', async () => {
    const batch = { events: [{ kind: 'message', id: 'r-1', sender: 'x', content: 'first' }, { kind: 'message', id: 'r-2', sender: 'y', content: 'second' }] }
    expect((await post(batch)).status).toBe(200)
    const again = await post(batch)
    expect(again.status).toBe(200)
    expect(again.body).toMatchObject({ stored: 0, duplicates: 2, rejected: 0 })
    const { body } = await api(server.url, '/api/events/stats')
    const events = body.total
    await post(batch)
    expect((await api(server.url, '/api/events/stats')).body.total).toBe(events)
  })

  it('refuses more than 5,000 events with 413 and stores none', async () => {
    const before = (await api(server.url, '/api/events/stats')).body.total
    const events = Array.from({ length: 5001 }, (_, i) => ({ kind: 'message', sender: 'a', content: `m${i}` }))
    const { status, body } = await post({ events })
    expect(status).toBe(413)
    expectEnvelope(body, 'PAYLOAD_TOO_LARGE')
    expect((await api(server.url, '/api/events/stats')).body.total).toBe(before)
  })

  it('takes exactly 5,000 events', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => ({ kind: 'message', sender: 'bulk', content: `m${i}` }))
    const { status, body } = await post({ events })
    expect(status).toBe(200)
    expect(body.stored).toBe(5000)
  })

  it('refuses a body over 5 MB with 413', async () => {
    const big = 'x'.repeat(5 * 1024 * 1024)
    const { status, body } = await post(JSON.stringify({ events: [{ kind: 'message', sender: 'a', content: big }] }))
    expect(status).toBe(413)
    expectEnvelope(body, 'PAYLOAD_TOO_LARGE')
  })

  it('answers 400 to malformed JSON and to bodies without an events array', async () => {
    for (const bad of ['{"events": [', 'not json', '']) {
      const { status, body } = await post(bad)
      expect(status).toBe(400)
      expectEnvelope(body, 'INVALID_JSON')
    }
    for (const bad of [{}, { events: 'no' }, [], 42, null]) {
      const { status, body } = await post(bad)
      expect(status).toBe(400)
      expectEnvelope(body, 'VALIDATION_FAILED')
    }
  })

  it('answers 415 to a body that is not JSON', async () => {
    const { status, body } = await post('kind=message', { 'content-type': 'application/x-www-form-urlencoded' })
    expect(status).toBe(415)
    expectEnvelope(body, 'UNSUPPORTED_MEDIA_TYPE')
  })

  it('rejects hostile values per event without a 500', async () => {
    const { status, body } = await post({ events: [
      { kind: 'message', sender: 'a', content: 'x', ts: 'not a time' },
      { kind: 'message', sender: '', content: 'x' },
      { kind: 'message', sender: 'a'.repeat(300), content: 'x' },
      { kind: 'task.progress', task_id: 't', progress: 250 },
      { kind: 'message', sender: 'a', content: '\'); DROP TABLE messages; --', conversation_id: '"; DELETE FROM events' },
      { kind: 'message', sender: '🙂', content: 'émoji ✓ 中文' },
    ] })
    expect(status).toBe(207)
    expect(body.results.map((r: any) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'stored', 'stored'])
  })
})

describe('errors and health', () => {
  it('answers unknown /api routes with the envelope', async () => {
    for (const path of ['/api/nope', '/api/conversations/x/y/z', '/api']) {
      const { status, body, headers } = await api(server.url, path)
      expect(status).toBe(404)
      expectEnvelope(body, 'ROUTE_NOT_FOUND')
      expect(body.error.request_id).toBe(headers.get('x-request-id'))
    }
  })

  it('puts X-Request-Id on every response and keeps a well-formed incoming one', async () => {
    expect((await api(server.url, '/health')).headers.get('x-request-id')).toMatch(/^req_/)
    expect((await api(server.url, '/api/events', { headers: { 'x-request-id': 'trace-123' } })).headers.get('x-request-id')).toBe('trace-123')
    expect((await api(server.url, '/api/events', { headers: { 'x-request-id': 'bad id with spaces' } })).headers.get('x-request-id')).toMatch(/^req_/)
  })

  it('reports health of the database at /health and /api/health', async () => {
    for (const path of ['/health', '/api/health']) {
      const { status, body } = await api(server.url, path)
      expect(status).toBe(200)
      expect(body).toMatchObject({ status: 'healthy', version: expect.any(String), services: { database: 'healthy' } })
      expect(Date.parse(body.timestamp)).not.toBeNaN()
    }
  })

  it('keeps every stored event across a restart', async () => {
    const before = (await api(server.url, '/api/events/stats')).body
    await server.restart()
    const after = (await api(server.url, '/api/events/stats')).body
    expect(after).toEqual(before)
  })
})
