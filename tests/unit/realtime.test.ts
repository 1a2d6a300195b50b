/** The realtime hub against an in-memory database, with fake connections. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Principal } from '../../server/utils/auth'
import { issueAgentCommand, updateCommandStatus } from '../../server/utils/commands'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { onStoredEvents } from '../../server/utils/event-bus'
import { ingest } from '../../server/utils/ingest'
import { type RealtimeConfig, type RealtimeConnection, RealtimeHub, type RealtimePeer } from '../../server/utils/realtime'

const admin: Principal = { id: 'user:admin', kind: 'jwt', role: 'admin', projects: '*' }
const member = (projects: string[]): Principal => ({ id: 'user:member', kind: 'jwt', role: 'member', projects })

type Frame = { event: string, channel?: string, seq?: number, data: any }

class FakeConnection implements RealtimeConnection {
  readonly sent: Buffer[] = []
  buffered = 0
  closed: { code: number, reason: string } | undefined
  terminated = false
  pings = 0
  constructor(readonly kind: 'ws' | 'sse' = 'ws') {}
  send(frame: Buffer) {
    this.sent.push(frame)
  }

  bufferedAmount() {
    return this.buffered
  }

  close(code: number, reason: string) {
    this.closed ??= { code, reason }
  }

  terminate() {
    this.terminated = true
  }

  ping() {
    this.pings++
  }

  frames(): Frame[] {
    return this.sent.map(b => JSON.parse(b.toString()) as Frame)
  }

  /** Log events, batches flattened. */
  events(): Frame[] {
    return this.frames().flatMap(f => (f.event === 'batch' ? f.data.events as Frame[] : [f])).filter(f => typeof f.seq === 'number')
  }

  control(event: string): Frame[] {
    return this.frames().filter(f => f.event === event)
  }
}

let hub: RealtimeHub
let off: () => void

function makeHub(config: Partial<RealtimeConfig> = {}) {
  hub = new RealtimeHub({ pingMs: 0, batchMs: 100, lightBatchMs: 40, busyEventsPerSecond: 500, ...config })
  off = onStoredEvents(events => hub.publish(events))
  return hub
}

function connect(principal: Principal = admin, kind: 'ws' | 'sse' = 'ws'): { conn: FakeConnection, peer: RealtimePeer } {
  const conn = new FakeConnection(kind)
  const peer = hub.attach(conn, { principal })
  return { conn, peer }
}

const send = (peer: RealtimePeer, event: string, data?: unknown) => hub.receive(peer, JSON.stringify({ event, data }))
const msg = (project: string, i: number, over: Record<string, unknown> = {}) => ({
  kind: 'message', project_id: project, conversation_id: `${project}-c`, sender: 'worker', recipient: 'marcus', content: `m${i}`, ...over,
})
const seqsOf = (out: ReturnType<typeof ingest>) => out.results.map(r => r.seq!)

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => {
  off?.()
  hub?.stop()
  vi.useRealTimers()
  closeDatabase()
})

describe('the handshake', () => {
  it('greets an authenticated connection and closes one that never authenticates', () => {
    vi.useFakeTimers()
    makeHub({ authTimeoutMs: 5000 })
    const { conn } = connect()
    expect(conn.control('connection_established')[0]!.data).toMatchObject({ mode: 'historical', latest_seq: 0 })
    const silent = new FakeConnection()
    hub.attach(silent)
    vi.advanceTimersByTime(4999)
    expect(silent.closed).toBeUndefined()
    vi.advanceTimersByTime(2)
    expect(silent.closed).toEqual({ code: 4401, reason: 'authentication timeout: no token within 5 s' })
    expect(hub.connectionCount()).toBe(1)
  })

  it('refuses connections over the cap with 1013', () => {
    makeHub({ maxConnections: 2 })
    connect()
    connect()
    const { conn } = connect()
    expect(conn.closed).toMatchObject({ code: 1013 })
    expect(hub.connectionCount()).toBe(2)
  })
})

describe('batching', () => {
  it('sends the first event after a quiet spell at once and coalesces the rest of the window into one batch', () => {
    vi.useFakeTimers()
    makeHub()
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    const before = conn.sent.length
    ingest([msg('p', 1)], 'test')
    expect(conn.sent.length).toBe(before + 1)
    ingest([msg('p', 2)], 'test')
    ingest([msg('p', 3), msg('p', 4)], 'test')
    expect(conn.sent.length).toBe(before + 1)
    vi.advanceTimersByTime(40)
    expect(conn.sent.length).toBe(before + 2)
    const last = conn.frames().at(-1)!
    expect(last.event).toBe('batch')
    expect(last.data.events.map((e: Frame) => e.data.message.content)).toEqual(['m2', 'm3', 'm4'])
  })

  it('widens the window to 100 ms while a group is busy', () => {
    vi.useFakeTimers()
    makeHub({ busyEventsPerSecond: 50 })
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    ingest(Array.from({ length: 60 }, (_, i) => msg('p', i)), 'test')
    const before = conn.sent.length
    ingest([msg('p', 100)], 'test')
    vi.advanceTimersByTime(60)
    expect(conn.sent.length).toBe(before)
    vi.advanceTimersByTime(40)
    expect(conn.sent.length).toBe(before + 1)
  })

  it('builds one frame per group and hands the same buffer to every member', () => {
    makeHub()
    const a = connect()
    const b = connect()
    const c = connect()
    send(a.peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'p' } })
    send(b.peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'p' } })
    send(c.peer, 'subscribe', { channels: ['conversations'], filters: { project_id: ['p'], message_types: ['message'] } })
    ingest([msg('p', 1)], 'test')
    expect(a.conn.sent.at(-1)).toBe(b.conn.sent.at(-1))
    expect(c.conn.sent.at(-1)).not.toBe(a.conn.sent.at(-1))
    expect(c.conn.sent.at(-1)!.equals(a.conn.sent.at(-1)!)).toBe(true)
    expect(hub.stats().groups).toBe(2)
  })

  it('loses nothing and repeats nothing when a subscription changes mid-window', () => {
    vi.useFakeTimers()
    makeHub()
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    ingest([msg('p', 1)], 'test')
    ingest([msg('p', 2), msg('q', 3)], 'test')
    send(peer, 'subscribe', { channels: ['conversations', 'alerts'] })
    ingest([msg('p', 4)], 'test')
    vi.advanceTimersByTime(200)
    expect(conn.events().map(e => e.data.message.content)).toEqual(['m1', 'm2', 'm3', 'm4'])
  })
})

describe('sliced writes', () => {
  /** A connection whose every send takes real time, as a socket write does. */
  class SlowConnection extends FakeConnection {
    override send(frame: Buffer) {
      const until = performance.now() + 0.05
      while (performance.now() < until) { /* a kernel write */ }
      super.send(frame)
    }
  }

  it('lets the event loop run during a long flush and still delivers every event once, in order', async () => {
    makeHub({ lightBatchMs: 0, sendBudget: 1e9 })
    const peers = Array.from({ length: 300 }, () => {
      const conn = new SlowConnection()
      return { conn, peer: hub.attach(conn, { principal: admin }) }
    })
    for (const { peer } of peers) send(peer, 'subscribe', { channels: ['conversations'] })
    const seqs: number[] = []
    seqs.push(...seqsOf(ingest([msg('p', 0)], 'test')))
    // The first slice went out; the rest waits for the event loop.
    expect(peers[0]!.conn.events()).toHaveLength(1)
    expect(peers[297]!.conn.events()).toHaveLength(0)
    // Published while the first frame is still being written: waits for it, then follows.
    seqs.push(...seqsOf(ingest([msg('p', 1), msg('p', 2)], 'test')))
    // A subscription change and a close in the middle of a flush.
    send(peers[299]!.peer, 'subscribe', { channels: ['conversations', 'alerts'] })
    hub.detach(peers[298]!.peer)
    await new Promise(r => setTimeout(r, 5))
    seqs.push(...seqsOf(ingest([msg('p', 3)], 'test')))
    await vi.waitFor(() => expect(peers[0]!.conn.events().length + peers[297]!.conn.events().length).toBe(8), { timeout: 5000, interval: 5 })
    await new Promise(r => setTimeout(r, 50))
    for (const [i, { conn }] of peers.entries()) {
      if (i === 298) continue
      expect(conn.events().map(e => e.seq), `peer ${i}`).toEqual(seqs)
    }
  })
})

describe('filters and scope', () => {
  it('never delivers events of projects outside the principal\'s scope', () => {
    makeHub()
    const { conn, peer } = connect(member(['a']))
    send(peer, 'subscribe', { channels: ['conversations', 'alerts'] })
    ingest([msg('b', 1), msg('a', 2), { kind: 'alert.raised', project_id: 'b', severity: 'critical', type: 't', message: 'x' }], 'test')
    expect(conn.events().map(e => e.data.project_id)).toEqual(['a'])
    send(peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'b' } })
    expect(conn.control('error').at(-1)!.data).toMatchObject({ code: 'FORBIDDEN' })
  })

  it('drops message metadata when include_metadata is false', () => {
    makeHub()
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'], filters: { include_metadata: false } })
    ingest([msg('p', 1, { metadata: { secret: 1 } })], 'test')
    expect(conn.events()[0]!.data.message).not.toHaveProperty('metadata')
  })

  it('estimates the rate of matching events from recent traffic', () => {
    makeHub()
    ingest(Array.from({ length: 20 }, (_, i) => msg('busy', i)), 'test')
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'busy' } })
    send(peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'idle' } })
    const [busy, idle] = conn.control('subscription_confirmed')
    expect(busy!.data.estimated_message_rate).toBeGreaterThan(0)
    expect(idle!.data.estimated_message_rate).toBe(0)
  })

  it('counts events published before anyone subscribed the same as those delivered live', () => {
    makeHub()
    ingest(Array.from({ length: 20 }, (_, i) => msg('busy', i)), 'test')
    const first = connect()
    send(first.peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'busy' } })
    ingest(Array.from({ length: 10 }, (_, i) => msg('busy', 20 + i)), 'test')
    expect(first.conn.events()).toHaveLength(10)
    const second = connect()
    send(second.peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'busy' } })
    // A hub younger than a second divides by one second: 30 events → 30 per second.
    expect(second.conn.control('subscription_confirmed')[0]!.data.estimated_message_rate).toBe(30)
  })
})

describe('resume', () => {
  it('replays in order and delivers live events published during the replay exactly once', async () => {
    makeHub()
    const first = seqsOf(ingest(Array.from({ length: 1200 }, (_, i) => msg('r', i)), 'test'))
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'], filters: { project_id: 'r' } })
    send(peer, 'resume', { since_seq: 0 })
    // The replay sends its first chunk synchronously and then yields: these land mid-replay.
    expect(conn.events().length).toBe(500)
    const during = seqsOf(ingest([msg('r', 5000), msg('r', 5001)], 'test'))
    await vi.waitFor(() => expect(conn.control('resume_complete')).toHaveLength(1))
    const after = seqsOf(ingest([msg('r', 6000)], 'test'))
    await vi.waitFor(() => expect(conn.events().length).toBe(1203))
    expect(conn.events().map(e => e.seq)).toEqual([...first, ...during, ...after])
    expect(conn.control('resume_complete')[0]!.data).toEqual({ since_seq: 0, replayed: 1202, latest_seq: during.at(-1) })
  })

  it('rebuilds the same event shapes from the log as live delivery sends', async () => {
    makeHub()
    const live = connect()
    send(live.peer, 'subscribe', { channels: ['conversations', 'tasks', 'agent_commands', 'costs', 'alerts', 'projects'] })
    ingest([
      { kind: 'agent.registered', project_id: 'shape', agent_id: 'ag', type: 'backend' },
      msg('shape', 1, { message_id: 'x1', metadata: { k: 'v' } }),
      msg('shape', 2, { sender: 'marcus', recipient: 'worker', in_reply_to: 'x1' }),
      { kind: 'task.upserted', project_id: 'shape', task_id: 't', name: 'T', status: 'todo' },
      { kind: 'cost.usage', project_id: 'shape', agent_id: 'ag', model: 'm', input_tokens: 1, cost: 0.5 },
      { kind: 'alert.raised', project_id: 'shape', severity: 'info', type: 'note', message: 'hello' },
      { kind: 'artifact.logged', project_id: 'shape', agent_id: 'ag', name: 'report.md' },
    ], 'test')
    issueAgentCommand(admin, { agent_id: 'ag', command: 'clear_queue' })
    const replayed = connect()
    send(replayed.peer, 'subscribe', { channels: ['conversations', 'tasks', 'agent_commands', 'costs', 'alerts', 'projects'] })
    send(replayed.peer, 'resume', { since_seq: 0 })
    await vi.waitFor(() => expect(replayed.conn.control('resume_complete')).toHaveLength(1))
    expect(replayed.conn.events()).toEqual(live.conn.events())
    expect(live.conn.events().length).toBe(7)
  })

  it('asks for a resync when the gap is beyond the replay limit or ahead of the server', () => {
    makeHub({ replayMax: 10 })
    const seqs = seqsOf(ingest(Array.from({ length: 30 }, (_, i) => msg('g', i)), 'test'))
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    send(peer, 'resume', { since_seq: 1 })
    send(peer, 'resume', { since_seq: 999 })
    expect(conn.control('resync_required').map(f => f.data)).toEqual([
      { reason: 'too_many', latest_seq: seqs.at(-1), since_seq: 1 },
      { reason: 'ahead_of_server', latest_seq: seqs.at(-1), since_seq: 999 },
    ])
    ingest([msg('g', 100)], 'test')
    expect(conn.events().map(e => e.data.message.content)).toEqual(['m100'])
  })

  it('asks for a resync when events before the oldest retained one are wanted', () => {
    makeHub()
    ingest(Array.from({ length: 5 }, (_, i) => msg('o', i)), 'test')
    useDatabase().sqlite.prepare('DELETE FROM events WHERE seq <= 3').run()
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    send(peer, 'resume', { since_seq: 1 })
    expect(conn.control('resync_required')[0]!.data).toMatchObject({ reason: 'too_old' })
  })
})

describe('load protection', () => {
  it('tells a client whose send buffer is full to resync, then closes it', () => {
    makeHub({ maxBufferBytes: 1000 })
    const { conn, peer } = connect()
    send(peer, 'subscribe', { channels: ['conversations'] })
    conn.buffered = 900
    ingest([msg('p', 1, { content: 'x'.repeat(500) })], 'test')
    expect(conn.frames().at(-1)).toMatchObject({ event: 'resync_required', data: { reason: 'slow_consumer' } })
    expect(conn.closed).toMatchObject({ code: 4008 })
    expect(hub.connectionCount()).toBe(0)
  })

  it('answers RATE_LIMITED once per second past 100 messages and drops the excess', () => {
    vi.useFakeTimers()
    makeHub()
    const { conn, peer } = connect()
    for (let i = 0; i < 130; i++) send(peer, 'ping')
    expect(conn.control('pong')).toHaveLength(100)
    expect(conn.control('error').map(f => f.data.code)).toEqual(['RATE_LIMITED'])
    vi.advanceTimersByTime(1000)
    send(peer, 'ping')
    expect(conn.control('pong')).toHaveLength(101)
  })

  it('pings every interval and drops a connection silent for two of them', () => {
    vi.useFakeTimers()
    makeHub({ pingMs: 1000 })
    hub.start()
    const quiet = connect()
    const lively = connect()
    for (let t = 0; t < 4; t++) {
      vi.advanceTimersByTime(1000)
      hub.touch(lively.peer)
    }
    expect(lively.conn.pings).toBe(4)
    expect(lively.conn.terminated).toBe(false)
    expect(quiet.conn.terminated).toBe(true)
    expect(hub.connectionCount()).toBe(1)
  })

  it('keeps a slow client that is still reading, though its pongs wait behind queued data', () => {
    vi.useFakeTimers()
    makeHub({ pingMs: 1000 })
    hub.start()
    const slow = connect()
    slow.conn.buffered = 3_000_000
    for (let t = 0; t < 5; t++) {
      vi.advanceTimersByTime(1000)
      slow.conn.buffered -= 400_000
    }
    expect(slow.conn.terminated).toBe(false)
    // The queue stops shrinking (seen at the next tick), then two silent intervals later it is dropped.
    vi.advanceTimersByTime(4000)
    expect(slow.conn.terminated).toBe(true)
  })

  it('answers bad messages with errors and keeps the connection', () => {
    makeHub()
    const { conn, peer } = connect()
    hub.receive(peer, '{oops')
    send(peer, 'subscribe', { channels: [] })
    send(peer, 'nonsense')
    expect(conn.control('error').map(f => f.data.code)).toEqual(['INVALID_MESSAGE', 'VALIDATION_FAILED', 'INVALID_MESSAGE'])
    expect(conn.closed).toBeUndefined()
  })
})

describe('commands and presence', () => {
  it('delivers a command to the agent\'s subscription, marks it delivered, and applies the acknowledgement', async () => {
    makeHub()
    ingest([{ kind: 'agent.registered', project_id: 'c', agent_id: 'ag', type: 'backend' }], 'test')
    const agent = connect(member(['c']))
    send(agent.peer, 'subscribe', { channels: ['agent_commands'], filters: { agent_id: 'ag' } })
    const operator = connect(member(['c']))
    send(operator.peer, 'subscribe', { channels: ['agent_status'] })
    send(operator.peer, 'agent_command', { agent_id: 'ag', command: 'pause_processing', reason: 'maintenance' })
    const accepted = operator.conn.control('command_accepted')[0]!.data
    expect(agent.conn.events()[0]).toMatchObject({ event: 'agent_command', data: { command_id: accepted.command_id, command: 'pause_processing' } })
    const status = () => useDatabase().sqlite.prepare('SELECT status FROM agent_commands WHERE id = ?').get(accepted.command_id) as { status: string }
    await vi.waitFor(() => expect(status().status).toBe('delivered'))
    send(agent.peer, 'command_ack', { command_id: accepted.command_id, status: 'acknowledged' })
    expect(status().status).toBe('acknowledged')
    expect(operator.conn.events().at(-1)).toMatchObject({ event: 'agent_status_update', data: { agent_id: 'ag', status: 'paused' } })
    expect(updateCommandStatus(accepted.command_id, 'failed')).toMatchObject({ status: 'acknowledged', seq: null })
  })

  it('refuses agent commands from viewers', () => {
    makeHub()
    const { conn, peer } = connect({ ...admin, role: 'viewer' })
    send(peer, 'agent_command', { agent_id: 'ag', command: 'pause_processing', request_id: 1 })
    expect(conn.control('error')[0]!.data).toMatchObject({ code: 'FORBIDDEN', request_id: 1 })
  })

  it('tracks who views a project and coalesces the changes of a window into one update', () => {
    vi.useFakeTimers()
    makeHub()
    const a = connect()
    send(a.peer, 'view', { project_id: 'p' })
    expect(a.conn.control('presence_update')).toHaveLength(1)
    const crowd = Array.from({ length: 5 }, () => connect())
    for (const c of crowd) send(c.peer, 'view', { project_id: 'p' })
    hub.detach(crowd[0]!.peer)
    expect(a.conn.control('presence_update')).toHaveLength(1)
    vi.advanceTimersByTime(250)
    const update = a.conn.control('presence_update').at(-1)!.data
    expect(a.conn.control('presence_update')).toHaveLength(2)
    expect(update).toMatchObject({ scope: { project_id: 'p' }, viewer_count: 5 })
    expect(update.joined).toHaveLength(5)
    expect(update.left).toEqual([{ session_id: crowd[0]!.peer.sessionId, principal: 'user:admin' }])
  })
})
