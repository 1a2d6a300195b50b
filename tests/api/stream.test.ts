/** `POST/GET /api/conversations/{id}/stream`: how to attach, and the Server-Sent Events stream. */
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, startServer, type TestServer, waitFor } from '../helpers/server'
import { bearer, mintTestToken } from '../helpers/tokens'

const SECRET = 'test-secret-stream-0123456789'

let server: TestServer
let admin: string
const aborts: AbortController[] = []

async function ingest(events: unknown[]): Promise<number[]> {
  const res = await api(server.url, '/api/ingest', { method: 'POST', json: { events }, headers: bearer(admin) })
  expect(res.status).toBe(200)
  return res.body.results.map((r: { seq: number }) => r.seq)
}

const message = (conversation: string, i: number, over: Record<string, unknown> = {}) => ({
  kind: 'message', project_id: 'sse', conversation_id: conversation, sender: 'worker', recipient: 'marcus', content: `m${i}`, ...over,
})

type SseEvent = { id?: string, event?: string, data?: string, comment?: string }

/** Opens an SSE stream with fetch and parses its blocks as they arrive. */
async function openStream(path: string, headers: Record<string, string> = {}) {
  const abort = new AbortController()
  aborts.push(abort)
  const res = await fetch(server.url + path, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal })
  const events: SseEvent[] = []
  const read = (async () => {
    if (!res.body) return
    const decoder = new TextDecoder()
    let text = ''
    const reader = res.body.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += decoder.decode(value, { stream: true })
        let end: number
        while ((end = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, end)
          text = text.slice(end + 2)
          const event: SseEvent = {}
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) event.comment = line.slice(1).trim()
            else {
              const at = line.indexOf(': ')
              const [field, value] = at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 2)]
              if (field === 'id' || field === 'event' || field === 'data') event[field] = value
            }
          }
          events.push(event)
        }
      }
    }
    catch { /* aborted */ }
  })()
  return { res, events, messages: () => events.filter(e => e.event === 'conversation_message'), close: () => abort.abort(), read }
}

beforeAll(async () => {
  server = await startServer({ SENECA_JWT_SECRET: SECRET })
  admin = await mintTestToken(SECRET)
  await ingest([message('sse-c1', 0), message('sse-c2', 0), { ...message('x-c', 0), project_id: 'sse-other' }])
})

afterAll(async () => {
  for (const a of aborts) a.abort()
  await server?.dispose()
})

describe('POST /api/conversations/{id}/stream', () => {
  it('answers how to attach: WebSocket subscription, a short-lived token for the conversation\'s project, the SSE URL', async () => {
    const { status, body } = await api(server.url, '/api/conversations/sse-c1/stream', {
      method: 'POST', json: { include_metadata: true, filter_types: ['request', 'response', 'error'], real_time: true }, headers: bearer(admin),
    })
    expect(status).toBe(200)
    expect(body).toMatchObject({
      conversation_id: 'sse-c1',
      project_id: 'sse',
      real_time: true,
      websocket_url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/api\/ws\?token=/),
      subscription: { channels: ['conversations'], filters: { conversation_id: ['sse-c1'], message_types: ['request', 'response', 'error'] } },
      stream_token: expect.any(String),
      expires_at: expect.any(String),
      sse_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api\/conversations\/sse-c1\/stream\?token=.+&message_types=request%2Cresponse%2Cerror$/),
    })
    const claims = JSON.parse(Buffer.from(body.stream_token.split('.')[1], 'base64url').toString())
    expect(claims).toMatchObject({ role: 'admin', projects: ['sse'], sub: 'tester' })
    const ttl = Date.parse(body.expires_at) - Date.now()
    expect(ttl).toBeGreaterThan(4 * 60_000)
    expect(ttl).toBeLessThanOrEqual(5 * 60_000)
    expect(claims.exp * 1000 - Date.now()).toBeLessThanOrEqual(5 * 60_000 + 1000)
  })

  it('gives a token that opens the WebSocket for that project only', async () => {
    const { body } = await api(server.url, '/api/conversations/sse-c1/stream', { method: 'POST', json: {}, headers: bearer(admin) })
    const ws = new WebSocket(body.websocket_url)
    const frames: any[] = []
    ws.on('message', d => frames.push(JSON.parse(d.toString())))
    await waitFor(() => frames.some(f => f.event === 'connection_established'))
    ws.send(JSON.stringify({ event: 'subscribe', data: body.subscription }))
    await waitFor(() => frames.some(f => f.event === 'subscription_confirmed'))
    ws.send(JSON.stringify({ event: 'subscribe', data: { channels: ['conversations'], filters: { project_id: 'sse-other' } } }))
    await waitFor(() => frames.find(f => f.event === 'error')?.data.code === 'FORBIDDEN')
    const [seq] = await ingest([message('sse-c1', 1)])
    await waitFor(() => frames.some(f => f.event === 'conversation_message' && f.seq === seq))
    ws.close()
  })

  it('offers no live feed for real_time: false', async () => {
    const { status, body } = await api(server.url, '/api/conversations/sse-c1/stream', { method: 'POST', json: { real_time: false }, headers: bearer(admin) })
    expect(status).toBe(200)
    expect(body).toMatchObject({ real_time: false, websocket_url: null, sse_url: null, stream_token: null, history_url: '/api/conversations/sse-c1/messages' })
  })

  it('answers 404 CONVERSATION_NOT_FOUND for an unknown conversation and 400 for a bad body', async () => {
    const missing = await api(server.url, '/api/conversations/nope/stream', { method: 'POST', json: {}, headers: bearer(admin) })
    expect(missing.status).toBe(404)
    expect(missing.body.error.code).toBe('CONVERSATION_NOT_FOUND')
    const bad = await api(server.url, '/api/conversations/sse-c1/stream', { method: 'POST', json: { real_time: 'yes' }, headers: bearer(admin) })
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe('VALIDATION_FAILED')
  })

  it('hides a conversation of a project the caller may not read', async () => {
    const outsider = await mintTestToken(SECRET, { role: 'viewer', projects: ['sse-other'] })
    const res = await api(server.url, '/api/conversations/sse-c1/stream', { method: 'POST', json: {}, headers: bearer(outsider) })
    expect(res.status).toBe(404)
  })
})

describe('GET /api/conversations/{id}/stream (SSE)', () => {
  it('streams new messages of the conversation as conversation_message events with their seq as id', async () => {
    const { body } = await api(server.url, '/api/conversations/sse-c2/stream', { method: 'POST', json: {}, headers: bearer(admin) })
    const stream = await openStream(new URL(body.sse_url).pathname + new URL(body.sse_url).search)
    expect(stream.res.status).toBe(200)
    expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await waitFor(() => stream.events.some(e => e.comment?.startsWith('stream of conversation')))
    const seqs = await ingest([message('sse-c2', 1), message('sse-c1', 2), message('sse-c2', 3, { metadata: { k: 1 } })])
    await waitFor(() => stream.messages().length === 2)
    expect(stream.messages().map(e => Number(e.id))).toEqual([seqs[0], seqs[2]])
    expect(JSON.parse(stream.messages()[1]!.data!)).toMatchObject({ conversation_id: 'sse-c2', project_id: 'sse', message: { content: 'm3', metadata: { k: 1 } } })
    stream.close()
  })

  it('replays from Last-Event-ID in order, then goes on live', async () => {
    const seqs = await ingest(Array.from({ length: 6 }, (_, i) => message('sse-c3', i)))
    const stream = await openStream(`/api/conversations/sse-c3/stream?token=${admin}`, { 'last-event-id': String(seqs[1]) })
    await waitFor(() => stream.messages().length === 4)
    const [next] = await ingest([message('sse-c3', 99)])
    await waitFor(() => stream.messages().length === 5)
    expect(stream.messages().map(e => Number(e.id))).toEqual([...seqs.slice(2), next])
    expect(stream.messages().map(e => JSON.parse(e.data!).message.content)).toEqual(['m2', 'm3', 'm4', 'm5', 'm99'])
    stream.close()
  })

  it('filters message types and drops metadata when asked', async () => {
    const stream = await openStream(`/api/conversations/sse-c1/stream?token=${admin}&message_types=error&include_metadata=false`)
    await waitFor(() => stream.events.length > 0)
    await ingest([message('sse-c1', 10), message('sse-c1', 11, { message_type: 'error', metadata: { secret: 1 } })])
    await waitFor(() => stream.messages().length === 1)
    const data = JSON.parse(stream.messages()[0]!.data!)
    expect(data.message).toMatchObject({ content: 'm11', message_type: 'error' })
    expect(data.message).not.toHaveProperty('metadata')
    stream.close()
  })

  it('refuses a forged token with 401 and an unknown conversation with 404', async () => {
    // Plain fetch: the only credential is the one in the query.
    const status = async (path: string) => {
      const res = await fetch(server.url + path, { signal: AbortSignal.timeout(10_000) })
      await res.body?.cancel()
      return res.status
    }
    const forged = await mintTestToken('some-other-secret-0123456789')
    expect(await status(`/api/conversations/sse-c1/stream?token=${forged}`)).toBe(401)
    expect(await status(`/api/conversations/nope/stream?token=${admin}`)).toBe(404)
  })
})
