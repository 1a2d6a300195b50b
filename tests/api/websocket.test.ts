/** The realtime WebSocket (`/api/ws`) as a client sees it on the built server. */
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, startServer, type TestServer, waitFor } from '../helpers/server'
import { bearer, mintTestToken, unsignedToken } from '../helpers/tokens'

const SECRET = 'test-secret-websocket-0123456789'

type Frame = { event: string, channel?: string, seq?: number, data: any }

/** A `ws` client that records every frame, with batches flattened into `events`. */
class Client {
  readonly frames: Frame[] = []
  readonly events: Frame[] = []
  private readonly taken = new Set<number>()
  readonly closed: Promise<{ code: number, reason: string }>
  closeInfo: { code: number, reason: string } | undefined

  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame
      this.frames.push(frame)
      if (frame.event === 'batch') this.events.push(...frame.data.events)
      else this.events.push(frame)
    })
    this.closed = new Promise(resolve => ws.on('close', (code, reason) => resolve(this.closeInfo = { code, reason: reason.toString() })))
  }

  static async open(server: TestServer, options: { token?: string, query?: Record<string, string>, protocols?: string[] } = {}): Promise<Client> {
    const params = new URLSearchParams(options.query)
    if (options.token) params.set('token', options.token)
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws${params.size ? `?${params}` : ''}`, options.protocols ?? [])
    const client = new Client(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })))
    })
    return client
  }

  /** Opens, authenticates with a query token and waits for `connection_established`. */
  static async ready(server: TestServer, token: string): Promise<Client> {
    const client = await Client.open(server, { token })
    await client.take('connection_established')
    return client
  }

  send(event: string, data?: unknown) {
    this.ws.send(JSON.stringify(data === undefined ? { event } : { event, data }))
  }

  /** The first not yet taken event of this name (and matching `where`), waiting for it. */
  async take(event: string, where: (f: Frame) => boolean = () => true, timeoutMs = 10_000): Promise<Frame> {
    return waitFor(() => {
      const i = this.events.findIndex((f, index) => !this.taken.has(index) && f.event === event && where(f))
      if (i < 0) return undefined
      this.taken.add(i)
      return this.events[i]
    }, timeoutMs, 10)
  }

  /** Subscribes and waits for the confirmation. */
  async subscribe(channels: string[], filters?: Record<string, unknown>): Promise<Frame> {
    this.send('subscribe', filters ? { channels, filters } : { channels })
    return this.take('subscription_confirmed')
  }

  /** Round trip: everything the server sent before the pong has arrived. */
  async sync() {
    const id = `sync-${Math.random()}`
    this.send('ping', { request_id: id })
    await this.take('pong', f => f.data.request_id === id)
  }

  logEvents(event?: string): Frame[] {
    return this.events.filter(f => typeof f.seq === 'number' && (!event || f.event === event))
  }

  close() {
    this.ws.close()
  }
}

let server: TestServer
let small: TestServer
let admin: string
const clients: Client[] = []
const track = (c: Client) => (clients.push(c), c)

async function ingest(target: TestServer, events: unknown[]): Promise<number[]> {
  const res = await api(target.url, '/api/ingest', { method: 'POST', json: { events }, headers: bearer(await mintTestToken(SECRET)) })
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200)
  return res.body.results.map((r: { seq: number }) => r.seq)
}

const message = (project: string, i: number, over: Record<string, unknown> = {}) => ({
  kind: 'message', project_id: project, conversation_id: `${project}-conv`, sender: 'worker-1', recipient: 'marcus', content: `message ${i}`, ...over,
})

beforeAll(async () => {
  ;[server, small] = await Promise.all([
    startServer({ SENECA_JWT_SECRET: SECRET }),
    startServer({ SENECA_JWT_SECRET: SECRET, SENECA_WS_MAX_CONNECTIONS: '5', SENECA_WS_REPLAY_MAX: '20', SENECA_WS_MAX_BUFFER_BYTES: String(256 * 1024) }),
  ])
  admin = await mintTestToken(SECRET)
})

afterAll(async () => {
  for (const c of clients) c.ws.terminate()
  await Promise.all([server?.dispose(), small?.dispose()])
})

describe('handshake and authentication', () => {
  it('answers connection_established with the seed\'s fields, the mode and the newest seq', async () => {
    const client = track(await Client.open(server, { token: admin }))
    const hello = await client.take('connection_established')
    expect(hello).toEqual({
      event: 'connection_established',
      data: {
        session_id: expect.stringMatching(/^sess_\w+$/),
        server_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        available_channels: ['conversations', 'agent_status', 'tasks', 'projects', 'pipelines', 'costs', 'alerts', 'agent_commands'],
        mode: 'historical',
        latest_seq: expect.any(Number),
      },
    })
    expect(Math.abs(Date.parse(hello.data.server_time) - Date.now())).toBeLessThan(60_000)
  })

  it('takes the token from the Sec-WebSocket-Protocol header and echoes seneca.v1, never the token', async () => {
    const client = track(await Client.open(server, { protocols: [`bearer.${admin}`, 'seneca.v1'] }))
    expect(client.ws.protocol).toBe('seneca.v1')
    await client.take('connection_established')
  })

  it('takes the token from a first auth message', async () => {
    const client = track(await Client.open(server))
    client.send('auth', { token: admin })
    await client.take('connection_established')
    await client.sync()
  })

  it('answers other messages before auth with UNAUTHORIZED and keeps the socket open', async () => {
    const client = track(await Client.open(server))
    client.send('subscribe', { channels: ['conversations'] })
    expect((await client.take('error')).data).toMatchObject({ code: 'UNAUTHORIZED' })
    client.send('auth', { token: admin })
    await client.take('connection_established')
  })

  it('closes with 4401 and a reason when no token arrives within 5 s', async () => {
    const started = Date.now()
    const client = track(await Client.open(server))
    const { code, reason } = await client.closed
    expect(code).toBe(4401)
    expect(reason).toMatch(/authentication timeout/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500)
    expect(Date.now() - started).toBeLessThan(8000)
  })

  it.each([
    ['a bad signature', async () => mintTestToken('another-secret-entirely-123456'), /not valid/],
    ['an expired token', async () => mintTestToken(SECRET, { expiresInS: -10 }), /expired/],
    ['alg none', async () => unsignedToken(), /not valid/],
    ['garbage', async () => 'not-a-token', /not valid/],
  ])('refuses %s in the query with an error and close 4401', async (_name, token, reason) => {
    const client = track(await Client.open(server, { token: await token() }))
    const { code, reason: text } = await client.closed
    expect(code).toBe(4401)
    expect(text).toMatch(reason)
    expect(client.events[0]).toMatchObject({ event: 'error', data: { code: 'UNAUTHORIZED' } })
  })

  it('refuses a bad token in the protocol header and in the auth message the same way', async () => {
    const viaHeader = track(await Client.open(server, { protocols: ['seneca.v1', `bearer.${unsignedToken()}`] }))
    expect((await viaHeader.closed).code).toBe(4401)
    const viaMessage = track(await Client.open(server))
    viaMessage.send('auth', { token: await mintTestToken(SECRET, { expiresInS: -5 }) })
    const closed = await viaMessage.closed
    expect(closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/expired/) })
  })

  it('closes an ingest-only principal with 4403', async () => {
    const client = track(await Client.open(server, { token: await mintTestToken(SECRET, { role: 'ingest' }) }))
    expect(await client.closed).toMatchObject({ code: 4403, reason: expect.stringMatching(/forbidden/) })
    expect(client.events[0]).toMatchObject({ event: 'error', data: { code: 'FORBIDDEN' } })
  })
})

describe('messages the server cannot use', () => {
  it('answers malformed JSON and unknown events with INVALID_MESSAGE, and bad data with VALIDATION_FAILED, without closing', async () => {
    const client = track(await Client.ready(server, admin))
    client.ws.send('{not json')
    expect((await client.take('error')).data).toMatchObject({ code: 'INVALID_MESSAGE', message: expect.stringMatching(/JSON/) })
    client.send('teleport', { request_id: 'r1' })
    expect((await client.take('error')).data).toMatchObject({ code: 'INVALID_MESSAGE', request_id: 'r1' })
    client.send('subscribe', { channels: ['weather'], request_id: 'r2' })
    expect((await client.take('error')).data).toMatchObject({ code: 'VALIDATION_FAILED', request_id: 'r2', message: expect.stringMatching(/unknown channel/) })
    await client.sync()
    expect(client.closeInfo).toBeUndefined()
  })

  it('answers ping with pong and the server time', async () => {
    const client = track(await Client.ready(server, admin))
    client.send('ping', { request_id: 42 })
    expect((await client.take('pong')).data).toEqual({ server_time: expect.any(String), request_id: 42 })
    client.send('ping')
    expect((await client.take('pong')).data).toEqual({ server_time: expect.any(String) })
  })
})

describe('subscriptions', () => {
  it('delivers an ingested message live in the seed\'s shape with its seq', async () => {
    const client = track(await Client.ready(server, admin))
    const confirmed = await client.subscribe(['conversations', 'agent_status'], { project_id: 'live' })
    expect(confirmed.data).toEqual({ channels: ['conversations', 'agent_status'], active_subscriptions: 2, estimated_message_rate: expect.any(Number), filters: { project_id: ['live'] } })
    const [seq] = await ingest(server, [message('live', 1, { message_id: 'live-m1', message_type: 'request', metadata: { task_id: 't1' } })])
    const event = await client.take('conversation_message')
    expect(event).toEqual({
      event: 'conversation_message',
      channel: 'conversations',
      seq,
      data: {
        conversation_id: 'live-conv',
        project_id: 'live',
        message: {
          id: 'live-m1', conversation_id: 'live-conv', sender: 'worker-1', recipient: 'marcus', content: 'message 1',
          message_type: 'request', timestamp: expect.any(String), metadata: { task_id: 't1' }, response_time_ms: null,
        },
      },
    })
  })

  it('estimates the message rate from recent matching traffic', async () => {
    await ingest(server, Array.from({ length: 30 }, (_, i) => message('rate', i)))
    const client = track(await Client.ready(server, admin))
    const busy = await client.subscribe(['conversations'], { project_id: 'rate' })
    expect(busy.data.estimated_message_rate).toBeGreaterThan(0)
    const quiet = await client.subscribe(['conversations'], { project_id: 'rate', message_types: ['never-sent'] })
    expect(quiet.data.estimated_message_rate).toBe(0)
  })

  it('filters by project, conversation and message type', async () => {
    const byConversation = track(await Client.ready(server, admin))
    await byConversation.subscribe(['conversations'], { conversation_id: 'flt-c1' })
    const byType = track(await Client.ready(server, admin))
    await byType.subscribe(['conversations'], { project_id: 'flt', message_types: ['error'] })
    const byProject = track(await Client.ready(server, admin))
    await byProject.subscribe(['conversations'], { project_id: ['flt-other', 'flt'] })
    await ingest(server, [
      message('flt', 1, { conversation_id: 'flt-c1' }),
      message('flt', 2, { conversation_id: 'flt-c2', message_type: 'error' }),
      message('flt', 3, { conversation_id: 'flt-c1', message_type: 'error' }),
      message('flt-x', 4, { conversation_id: 'flt-c3', message_type: 'error' }),
    ])
    await Promise.all([byConversation.sync(), byType.sync(), byProject.sync()])
    const contents = (c: Client) => c.logEvents('conversation_message').map(f => f.data.message.content)
    await waitFor(() => contents(byProject).length === 3)
    expect(contents(byConversation)).toEqual(['message 1', 'message 3'])
    expect(contents(byType)).toEqual(['message 2', 'message 3'])
    expect(contents(byProject)).toEqual(['message 1', 'message 2', 'message 3'])
  })

  it('filters by agent type or capability', async () => {
    await ingest(server, [
      { kind: 'agent.registered', project_id: 'types', agent_id: 'fe-1', type: 'frontend' },
      { kind: 'agent.registered', project_id: 'types', agent_id: 'be-1', type: 'backend' },
      { kind: 'agent.registered', project_id: 'types', agent_id: 'ops-1', type: 'specialist', capabilities: ['deploy'] },
    ])
    const client = track(await Client.ready(server, admin))
    await client.subscribe(['conversations'], { project_id: 'types', agent_types: ['frontend', 'deploy'] })
    await ingest(server, ['fe-1', 'be-1', 'ops-1'].map((agent, i) => message('types', i, { sender: agent, recipient: 'marcus', conversation_id: `types-${agent}` })))
    await waitFor(() => client.logEvents().length >= 2)
    await client.sync()
    expect(client.logEvents('conversation_message').map(f => f.data.message.sender)).toEqual(['fe-1', 'ops-1'])
  })

  it('stops delivering a channel after unsubscribe', async () => {
    const client = track(await Client.ready(server, admin))
    await client.subscribe(['conversations'], { project_id: 'unsub' })
    client.send('unsubscribe', { channels: ['conversations'] })
    expect((await client.take('unsubscribed')).data).toEqual({ channels: ['conversations'], active_subscriptions: 0 })
    await ingest(server, [message('unsub', 1)])
    await new Promise(r => setTimeout(r, 200))
    await client.sync()
    expect(client.logEvents()).toEqual([])
  })

  it('maps task, agent, cost and alert events to their channels', async () => {
    const client = track(await Client.ready(server, admin))
    await client.subscribe(['tasks', 'agent_status', 'costs', 'alerts', 'projects'], { project_id: 'kinds' })
    await ingest(server, [
      { kind: 'agent.registered', project_id: 'kinds', agent_id: 'k-1', type: 'backend' },
      { kind: 'task.assigned', project_id: 'kinds', task_id: 'k-t1', agent_id: 'k-1', task_name: 'Build it' },
      { kind: 'task.progress', project_id: 'kinds', task_id: 'k-t1', agent_id: 'k-1', progress: 100 },
      { kind: 'cost.usage', project_id: 'kinds', agent_id: 'k-1', model: 'claude-sonnet-4', input_tokens: 10, output_tokens: 5, cost: 0.01 },
      { kind: 'alert.raised', project_id: 'kinds', severity: 'warning', type: 'budget_warning', message: 'Half the budget is gone' },
      { kind: 'decision.logged', project_id: 'kinds', agent_id: 'k-1', decision: 'Use SQLite' },
    ])
    await waitFor(() => client.logEvents().length >= 8)
    expect(client.logEvents().map(f => `${f.channel}/${f.event}`)).toEqual([
      'agent_status/agent_registered',
      'tasks/task_update', 'agent_status/agent_status_update',
      'tasks/task_update', 'agent_status/agent_status_update',
      'costs/cost_update', 'alerts/alert', 'projects/project_update',
    ])
    const statuses = client.logEvents('agent_status_update').map(f => f.data)
    expect(statuses[0]).toMatchObject({ agent_id: 'k-1', status: 'busy', previous_status: 'idle' })
    expect(statuses[1]).toMatchObject({ agent_id: 'k-1', status: 'idle', previous_status: 'busy', task_completed: 'k-t1' })
  })
})

describe('project isolation', () => {
  it('never sends events of a project the principal may not read, and refuses a filter asking for one', async () => {
    const client = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'viewer', projects: ['iso-a'] })))
    await client.subscribe(['conversations', 'agent_status', 'alerts'])
    client.send('subscribe', { channels: ['conversations'], filters: { project_id: 'iso-b' }, request_id: 'b' })
    expect((await client.take('error')).data).toMatchObject({ code: 'FORBIDDEN', request_id: 'b' })
    client.send('request_data', { type: 'project_status', parameters: { project_id: 'iso-b' } })
    expect((await client.take('error')).data).toMatchObject({ code: 'FORBIDDEN' })
    await ingest(server, [
      message('iso-b', 1), { kind: 'alert.raised', project_id: 'iso-b', severity: 'critical', type: 'x', message: 'secret' },
      message('iso-a', 2),
      message('iso-b', 3),
    ])
    await client.take('conversation_message')
    await new Promise(r => setTimeout(r, 200))
    await client.sync()
    expect(client.logEvents().map(f => f.data.project_id)).toEqual(['iso-a'])
  })
})

describe('resume', () => {
  it('replays exactly the missed events in order, then continues live without a gap or a duplicate at the seam', async () => {
    const first = track(await Client.ready(server, admin))
    await first.subscribe(['conversations'], { project_id: 'resume' })
    const seen = await ingest(server, Array.from({ length: 5 }, (_, i) => message('resume', i)))
    await waitFor(() => first.logEvents().length === 5)
    const lastSeq = first.logEvents().at(-1)!.seq!
    expect(lastSeq).toBe(seen.at(-1))
    first.close()
    await first.closed

    // Missed while disconnected: more than one replay chunk, so live traffic lands mid-replay.
    const missed: number[] = []
    for (let b = 0; b < 4; b++) missed.push(...await ingest(server, Array.from({ length: 1000 }, (_, i) => message('resume', 1000 * b + i, { conversation_id: `resume-${i % 7}` }))))
    // Another project's traffic is not owed to this subscription.
    await ingest(server, [message('resume-other', 0)])

    const second = track(await Client.open(server, { token: admin, query: { since_seq: String(lastSeq) } }))
    await second.take('connection_established')
    const live: number[] = []
    let posting = true
    const poster = (async () => {
      for (let i = 0; i < 40 && posting; i++) {
        live.push(...await ingest(server, [message('resume', 10_000 + i)]))
        await new Promise(r => setTimeout(r, 3))
      }
    })()
    second.send('subscribe', { channels: ['conversations'], filters: { project_id: 'resume' } })
    const done = await second.take('resume_complete', () => true, 30_000)
    await poster
    posting = false
    const expected = [...missed, ...live]
    await waitFor(() => second.logEvents().length >= expected.length, 20_000)
    await second.sync()
    const got = second.logEvents().map(f => f.seq)
    expect(got.length).toBe(expected.length)
    expect(got).toEqual(expected)
    expect(done.data).toMatchObject({ since_seq: lastSeq, replayed: expect.any(Number) })
    expect(done.data.replayed).toBeGreaterThanOrEqual(missed.length)
  })

  it('resumes from a resume message on a subscribed connection', async () => {
    const seqs = await ingest(server, Array.from({ length: 3 }, (_, i) => message('resume-msg', i)))
    const client = track(await Client.ready(server, admin))
    await client.subscribe(['conversations'], { project_id: 'resume-msg' })
    client.send('resume', { since_seq: seqs[0]! - 1 })
    await client.take('resume_complete')
    expect(client.logEvents().map(f => f.seq)).toEqual(seqs)
  })

  it('answers resync_required when the gap is larger than the replay limit', async () => {
    const seqs = await ingest(small, Array.from({ length: 30 }, (_, i) => message('resync', i)))
    const client = track(await Client.open(small, { token: admin, query: { since_seq: String(seqs[0]! - 1) } }))
    await client.take('connection_established')
    await client.subscribe(['conversations'], { project_id: 'resync' })
    expect((await client.take('resync_required')).data).toEqual({ reason: 'too_many', latest_seq: seqs.at(-1), since_seq: seqs[0]! - 1 })
    // And live delivery goes on.
    const [next] = await ingest(small, [message('resync', 99)])
    expect((await client.take('conversation_message')).seq).toBe(next)
    client.close()
    await client.closed
  })
})

describe('load behaviour', () => {
  it('coalesces a burst into a few frames, every event exactly once and in order', async () => {
    const client = track(await Client.ready(server, admin))
    await client.subscribe(['conversations'], { project_id: 'burst' })
    const framesBefore = client.frames.length
    const seqs: number[] = []
    const posts = []
    for (let b = 0; b < 8; b++) posts.push(ingest(server, Array.from({ length: 30 }, (_, i) => message('burst', b * 30 + i))))
    for (const p of posts) seqs.push(...await p)
    await waitFor(() => client.logEvents().length >= 240)
    await client.sync()
    const frames = client.frames.slice(framesBefore).filter(f => f.event === 'batch' || f.event === 'conversation_message')
    expect(client.logEvents().map(f => f.seq)).toEqual(seqs.sort((a, b) => a - b))
    expect(frames.length).toBeLessThan(16)
    expect(frames.some(f => f.event === 'batch' && f.data.events.length > 1)).toBe(true)
  })

  it('compresses a burst once for every client that negotiated permessage-deflate; plain clients get the same events', async () => {
    const deflateParams = (ws: WebSocket) => (ws as unknown as { _extensions: Record<string, { params: Record<string, unknown> } | undefined> })._extensions['permessage-deflate']?.params
    const compressed = track(await Client.ready(server, admin))
    expect(deflateParams(compressed.ws)).toMatchObject({ server_no_context_takeover: true })
    const narrowWs = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${admin}`, { perMessageDeflate: { serverMaxWindowBits: 9 } })
    const narrow = track(new Client(narrowWs))
    const plainWs = new WebSocket(`ws://127.0.0.1:${server.port}/api/ws?token=${admin}`, { perMessageDeflate: false })
    const plain = track(new Client(plainWs))
    await Promise.all([narrow.take('connection_established'), plain.take('connection_established')])
    expect(deflateParams(narrowWs)).toMatchObject({ server_max_window_bits: 9 })
    expect(deflateParams(plainWs)).toBeUndefined()
    for (const c of [compressed, narrow, plain]) await c.subscribe(['conversations'], { project_id: 'deflated' })
    const wireBytes = (c: Client) => (c.ws as unknown as { _socket: { bytesRead: number } })._socket.bytesRead
    const before = [compressed, plain].map(wireBytes)
    const seqs = await ingest(server, Array.from({ length: 200 }, (_, i) => message('deflated', i, { message_id: `deflated-${i}` })))
    for (const c of [compressed, narrow, plain]) {
      await waitFor(() => c.logEvents().length >= 200)
      expect(c.logEvents().map(f => f.seq)).toEqual(seqs)
      expect(c.logEvents().map(f => f.data.message.id)).toEqual(Array.from({ length: 200 }, (_, i) => `deflated-${i}`))
    }
    // The same events on the wire: compressed, a fraction of the plain bytes.
    expect(wireBytes(compressed) - before[0]!).toBeLessThan((wireBytes(plain) - before[1]!) / 3)
  })

  it('limits inbound messages to 100 per second with RATE_LIMITED, then accepts again', async () => {
    const client = track(await Client.ready(server, admin))
    for (let i = 0; i < 150; i++) client.send('ping', { request_id: i })
    const limited = await client.take('error')
    expect(limited.data).toMatchObject({ code: 'RATE_LIMITED', details: { limit_per_second: 100 } })
    await new Promise(r => setTimeout(r, 1100))
    await client.sync()
    expect(client.events.filter(f => f.event === 'pong').length).toBe(101)
    expect(client.events.filter(f => f.event === 'error').length).toBe(1)
    expect(client.closeInfo).toBeUndefined()
  })

  it('refuses connections above the cap with HTTP 503 and accepts again when one closes', async () => {
    const open: Client[] = []
    for (let i = 0; i < 5; i++) open.push(track(await Client.ready(small, admin)))
    await expect(Client.open(small, { token: admin })).rejects.toMatchObject({ status: 503 })
    open[0]!.close()
    await open[0]!.closed
    await waitFor(async () => {
      try {
        open.push(track(await Client.ready(small, admin)))
        return true
      }
      catch {
        return false
      }
    })
    for (const c of open) c.close()
    await Promise.all(open.map(c => c.closed))
  })

  it('tells a client that stops reading to resync and closes it instead of buffering without bound', async () => {
    const client = track(await Client.ready(small, admin))
    await client.subscribe(['conversations'], { project_id: 'slow' })
    client.ws.pause()
    // Incompressible, so a client that negotiated deflate also fills its buffer.
    const big = randomBytes(675_000).toString('base64')
    for (let b = 0; b < 10; b++) await ingest(small, Array.from({ length: 4 }, (_, i) => message('slow', b * 4 + i, { content: big })))
    client.ws.resume()
    const closed = await client.closed
    // The notice and the close frame sit behind the unread data: when the close handshake
    // cannot finish in time the server drops the socket (1006), which is the bound holding.
    expect([4008, 1006]).toContain(closed.code)
    if (closed.code === 4008) {
      expect(closed.reason).toMatch(/slow consumer/)
      expect(client.events.at(-1)).toMatchObject({ event: 'resync_required', data: { reason: 'slow_consumer', latest_seq: expect.any(Number) } })
    }
    expect(client.logEvents().length).toBeLessThan(40)
  })
})

describe('interactive commands', () => {
  it('issues an agent command, delivers it to the agent\'s connection and applies the acknowledgement', async () => {
    await ingest(server, [{ kind: 'agent.registered', project_id: 'cmd', agent_id: 'agent-x', type: 'backend' }])
    const operator = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'member', projects: ['cmd'] })))
    await operator.subscribe(['agent_status'], { project_id: 'cmd' })
    const agent = track(await Client.ready(server, await mintTestToken(SECRET, { sub: 'agent-x', role: 'member', projects: ['cmd'] })))
    await agent.subscribe(['agent_commands'], { agent_id: 'agent-x' })

    operator.send('agent_command', { agent_id: 'agent-x', command: 'pause_processing', reason: 'user_requested', request_id: 'c1' })
    const accepted = await operator.take('command_accepted')
    expect(accepted.data).toEqual({ command_id: expect.stringMatching(/^cmd_/), status: 'pending', agent_id: 'agent-x', command: 'pause_processing', request_id: 'c1' })

    const delivered = await agent.take('agent_command')
    expect(delivered).toMatchObject({
      channel: 'agent_commands', seq: expect.any(Number),
      data: { command_id: accepted.data.command_id, agent_id: 'agent-x', command: 'pause_processing', parameters: { reason: 'user_requested' }, status: 'pending', issued_by: 'user:tester' },
    })
    agent.send('command_ack', { command_id: accepted.data.command_id, status: 'acknowledged', result: { paused: true } })
    expect((await agent.take('command_ack_received')).data).toEqual({ command_id: accepted.data.command_id, status: 'acknowledged' })
    expect((await agent.take('command_update', f => f.data.status === 'acknowledged')).data).toMatchObject({ command_id: accepted.data.command_id, result: { paused: true } })
    expect((await operator.take('agent_status_update')).data).toMatchObject({ agent_id: 'agent-x', status: 'paused' })

    const agents = await api(server.url, '/api/agents?project_id=cmd', { headers: bearer(admin) })
    expect(agents.body.agents.find((a: { id: string }) => a.id === 'agent-x')).toMatchObject({ status: 'paused', status_reason: 'user_requested' })
  })

  it('refuses commands from viewers and for unknown agents, answering with the request id', async () => {
    const viewer = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'viewer' })))
    viewer.send('agent_command', { agent_id: 'agent-x', command: 'pause_processing', request_id: 'v' })
    expect((await viewer.take('error')).data).toMatchObject({ code: 'FORBIDDEN', request_id: 'v' })
    const member = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'member', projects: ['elsewhere'] })))
    member.send('agent_command', { agent_id: 'agent-x', command: 'pause_processing', request_id: 'm' })
    expect((await member.take('error')).data).toMatchObject({ code: 'AGENT_NOT_FOUND', request_id: 'm' })
    member.send('command_ack', { command_id: 'cmd_nope', status: 'failed' })
    expect((await member.take('error')).data).toMatchObject({ code: 'COMMAND_NOT_FOUND' })
  })

  it('answers request_data for conversation history, agent status and project status', async () => {
    await ingest(server, [
      { kind: 'agent.registered', project_id: 'req', agent_id: 'req-agent', type: 'backend' },
      ...Array.from({ length: 4 }, (_, i) => message('req', i, { message_id: `req-m${i}`, sender: 'req-agent' })),
    ])
    const client = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'viewer', projects: ['req'] })))
    client.send('request_data', { type: 'conversation_history', parameters: { conversation_id: 'req-conv', limit: 2 }, request_id: 'h' })
    const history = await client.take('data_response', f => f.data.request_id === 'h')
    expect(history.data).toMatchObject({ type: 'conversation_history', request_id: 'h', data: { conversation_id: 'req-conv', has_more: true } })
    expect(history.data.data.messages.map((m: { id: string }) => m.id)).toEqual(['req-m2', 'req-m3'])
    client.send('request_data', { type: 'conversation_history', parameters: { conversation_id: 'req-conv', limit: 2, before: 'req-m2' }, request_id: 'h2' })
    expect((await client.take('data_response', f => f.data.request_id === 'h2')).data.data.messages.map((m: { id: string }) => m.id)).toEqual(['req-m0', 'req-m1'])

    client.send('request_data', { type: 'agent_status', parameters: { agent_id: 'req-agent' }, request_id: 'a' })
    expect((await client.take('data_response', f => f.data.request_id === 'a')).data.data.agent).toMatchObject({ id: 'req-agent', status: expect.any(String), type: 'backend' })

    client.send('request_data', { type: 'project_status', parameters: { project_id: 'req' }, request_id: 'p' })
    expect((await client.take('data_response', f => f.data.request_id === 'p')).data.data).toMatchObject({ project_id: 'req', conversations: 1, agents: expect.any(Object), mode: 'historical' })

    client.send('request_data', { type: 'conversation_history', parameters: { conversation_id: 'nope' }, request_id: 'n' })
    expect((await client.take('error')).data).toMatchObject({ code: 'CONVERSATION_NOT_FOUND', request_id: 'n' })
  })
})

describe('presence', () => {
  it('tells viewers of the same conversation who joins and who leaves', async () => {
    await ingest(server, [message('pres', 1, { conversation_id: 'pres-c' })])
    const a = track(await Client.ready(server, await mintTestToken(SECRET, { sub: 'ann', role: 'viewer', projects: ['pres'] })))
    const b = track(await Client.ready(server, await mintTestToken(SECRET, { sub: 'bob', role: 'member', projects: ['pres'] })))
    a.send('view', { conversation_id: 'pres-c' })
    const alone = await a.take('presence_update')
    const ann = { session_id: expect.any(String), principal: 'user:ann' }
    expect(alone.data).toEqual({ scope: { conversation_id: 'pres-c' }, viewers: [ann], viewer_count: 1, joined: [ann] })
    b.send('view', { conversation_id: 'pres-c' })
    const joined = await a.take('presence_update')
    expect(joined.data.viewers.map((v: { principal: string }) => v.principal)).toEqual(['user:ann', 'user:bob'])
    expect(joined.data).toMatchObject({ viewer_count: 2, joined: [{ principal: 'user:bob' }] })
    expect((await b.take('presence_update')).data.viewers).toHaveLength(2)
    b.close()
    const left = await a.take('presence_update')
    expect(left.data).toMatchObject({ scope: { conversation_id: 'pres-c' }, viewer_count: 1, left: [{ principal: 'user:bob' }] })
  })

  it('tracks project views, refuses a foreign project, and takes no presence from subscriptions', async () => {
    const a = track(await Client.ready(server, admin))
    await a.subscribe(['conversations'], { project_id: 'pres-p' })
    a.send('view', { project_id: 'pres-p' })
    const update = await a.take('presence_update')
    expect(update.data).toMatchObject({ scope: { project_id: 'pres-p' }, viewer_count: 1 })
    expect(a.events.filter(f => f.event === 'presence_update')).toHaveLength(1)
    const c = track(await Client.ready(server, await mintTestToken(SECRET, { role: 'viewer', projects: ['mine'] })))
    c.send('view', { project_id: 'pres-p' })
    expect((await c.take('error')).data).toMatchObject({ code: 'FORBIDDEN' })
    a.send('view', {})
    await a.sync()
  })
})
