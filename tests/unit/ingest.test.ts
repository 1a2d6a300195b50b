import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { onStoredEvents } from '../../server/utils/event-bus'
import { ingest } from '../../server/utils/ingest'

const row = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).get(...args) as T
const rows = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).all(...args) as T[]

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => closeDatabase())

const msg = (over: Record<string, unknown> = {}) => ({ kind: 'message', sender: 'a', recipient: 'b', content: 'hello', ...over })

describe('the ingest path', () => {
  it('stores valid events and rejects bad ones one by one', () => {
    const out = ingest([msg({ id: 'm1' }), { kind: 'message', sender: 'a' }, 'nonsense', { kind: 'nope' }, msg({ id: 'm2' })], 'test')
    expect(out.results.map(r => r.status)).toEqual(['stored', 'rejected', 'rejected', 'rejected', 'stored'])
    expect(out.results[1]!.error).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('content') })
    expect(out.results[3]!.error!.code).toBe('UNKNOWN_EVENT_KIND')
    expect(out).toMatchObject({ stored: 2, rejected: 3, duplicates: 0 })
    expect(row<{ n: number }>('SELECT count(*) AS n FROM messages').n).toBe(2)
  })

  it('commits what inTransaction writes together with the events, or neither', () => {
    useDatabase().sqlite.exec(`CREATE TABLE side (v TEXT)`)
    const side = useDatabase().sqlite.prepare(`INSERT INTO side (v) VALUES (?)`)
    ingest([msg({ id: 'w1' })], 'test', { inTransaction: () => side.run('one') })
    expect(() => ingest([msg({ id: 'w2' })], 'test', { inTransaction: () => {
      side.run('two')
      throw new Error('offsets not saved')
    } })).toThrow('offsets not saved')
    expect(rows<{ v: string }>('SELECT v FROM side').map(r => r.v)).toEqual(['one'])
    expect(rows<{ id: string }>('SELECT id FROM events').map(r => r.id)).toEqual(['w1'])
  })

  it('takes plain messages and generic records without their schema, exactly as the schema would', () => {
    const out = ingest([
      msg({ id: 'p1', metadata: { a: 1 } }),
      msg({ id: 'p2', metadata: ['not', 'a', 'record'] }),
      msg({ id: 'p3', extra: 'dropped' }),
      msg({ id: 'p4', message_type: '' }),
      { kind: 'generic', id: 'g1', type: 'x', data: { any: ['thing'] } },
      { kind: 'generic', id: 'g2', type: '' },
    ], 'test')
    expect(out.results.map(r => r.status)).toEqual(['stored', 'rejected', 'stored', 'rejected', 'stored', 'rejected'])
    expect(row<{ message_type: string }>(`SELECT message_type FROM messages WHERE id = 'p1'`).message_type).toBe('message')
    expect(JSON.parse(row<{ payload: string }>(`SELECT payload FROM events WHERE id = 'p3'`).payload)).not.toHaveProperty('extra')
  })

  it('makes a re-sent id a no-op, within a batch and across batches', () => {
    expect(ingest([msg({ id: 'x' }), msg({ id: 'x' })], 'test').results.map(r => r.status)).toEqual(['stored', 'duplicate'])
    expect(ingest([msg({ id: 'x', content: 'changed' })], 'test').results[0]!.status).toBe('duplicate')
    expect(row<{ content: string }>('SELECT content FROM messages').content).toBe('hello')
    expect(row<{ message_count: number }>('SELECT message_count FROM conversations').message_count).toBe(1)
  })

  it('uses message_id as the event id so a re-sent message is a duplicate', () => {
    ingest([msg({ message_id: 'mm' })], 'test')
    expect(ingest([msg({ message_id: 'mm' })], 'test').results[0]).toMatchObject({ id: 'mm', status: 'duplicate' })
  })

  it('numbers stored events in order and hands them on after commit', () => {
    const seen: number[] = []
    const off = onStoredEvents(evs => seen.push(...evs.map(e => e.seq)))
    const out = ingest([msg(), msg(), msg()], 'test')
    off()
    expect(out.results.map(r => r.seq)).toEqual([1, 2, 3])
    expect(seen).toEqual([1, 2, 3])
  })

  it('pairs a request with the next answer from someone else', () => {
    ingest([
      msg({ id: 'q', conversation_id: 'c', ts: 1000, sender: 'a', recipient: 'b' }),
      msg({ id: 'q2', conversation_id: 'c', ts: 1500, sender: 'a', recipient: 'b' }),
      msg({ id: 'r', conversation_id: 'c', ts: 4000, sender: 'b', recipient: 'a' }),
      msg({ id: 'q3', conversation_id: 'c', ts: 5000, sender: 'a', recipient: 'b' }),
      msg({ id: 'r3', conversation_id: 'c', ts: 5250, sender: 'b', recipient: 'a', message_type: 'error' }),
    ], 'test')
    expect(rows<{ id: string, response_time_ms: number | null }>('SELECT id, response_time_ms FROM messages ORDER BY seq')).toEqual([
      { id: 'q', response_time_ms: null }, { id: 'q2', response_time_ms: null }, { id: 'r', response_time_ms: 3000 },
      { id: 'q3', response_time_ms: null }, { id: 'r3', response_time_ms: 250 },
    ])
    expect(row('SELECT sum(messages) AS messages, sum(errors) AS errors, sum(responses) AS responses, sum(response_ms_sum) AS ms FROM message_rollups'))
      .toEqual({ messages: 5, errors: 1, responses: 2, ms: 3250 })
    expect(row('SELECT message_count, error_count, started_at, last_activity FROM conversations WHERE id = ?', 'c'))
      .toEqual({ message_count: 5, error_count: 1, started_at: 1000, last_activity: 5250 })
  })

  it('uses in_reply_to for an exact response time', () => {
    ingest([msg({ id: 'q', conversation_id: 'c', ts: 1000 }), msg({ id: 'x', conversation_id: 'c', ts: 1100, sender: 'b' }),
      msg({ id: 'r', conversation_id: 'c', ts: 9000, sender: 'c', in_reply_to: 'q' })], 'test')
    expect(row<{ response_time_ms: number }>('SELECT response_time_ms FROM messages WHERE id = ?', 'r').response_time_ms).toBe(8000)
  })

  it('derives a thread for sender and recipient when no conversation is named', () => {
    ingest([msg({ sender: 'b', recipient: 'a', project_id: 'p' }), msg({ sender: 'a', recipient: 'b', project_id: 'p' })], 'test')
    expect(rows('SELECT id, message_count FROM conversations')).toEqual([{ id: 'dm:p:a+b', message_count: 2 }])
    expect(rows<{ participant: string }>('SELECT participant FROM conversation_participants ORDER BY 1').map(r => r.participant)).toEqual(['a', 'b'])
  })

  it('follows a task through assignment, block, re-assignment and completion', () => {
    ingest([
      { kind: 'agent.registered', agent_id: 'w1', ts: 1 },
      { kind: 'agent.registered', agent_id: 'w2', ts: 1 },
      { kind: 'task.upserted', task_id: 't', name: 'T', ts: 2, depends_on: ['t0'] },
      { kind: 'task.assigned', task_id: 't', agent_id: 'w1', ts: 3 },
      { kind: 'blocker.reported', task_id: 't', agent_id: 'w1', severity: 'high', description: 'stuck', ts: 4 },
    ], 'test')
    expect(row('SELECT status, current_task_id FROM agents WHERE id = ?', 'w1')).toEqual({ status: 'idle', current_task_id: null })
    expect(row<{ status: string }>('SELECT status FROM tasks').status).toBe('blocked')
    ingest([
      { kind: 'task.assigned', task_id: 't', agent_id: 'w2', ts: 5 },
      { kind: 'task.progress', task_id: 't', agent_id: 'w2', progress: 100, status: 'completed', ts: 6 },
    ], 'test')
    expect(row('SELECT status, resolution FROM blockers')).toEqual({ status: 'resolved', resolution: 'task re-assigned to w2' })
    expect(row('SELECT status, progress, assigned_agent_id, completed_at FROM tasks')).toEqual({ status: 'done', progress: 1, assigned_agent_id: 'w2', completed_at: 6 })
    expect(row('SELECT status, tasks_completed FROM agents WHERE id = ?', 'w2')).toEqual({ status: 'idle', tasks_completed: 1 })
    expect(rows<{ action: string }>('SELECT action FROM task_history ORDER BY seq').map(h => h.action)).toEqual(['upserted', 'assigned', 'blocked', 'unassigned', 'assigned', 'progress'])
    expect(row('SELECT depends_on FROM task_dependencies')).toEqual({ depends_on: 't0' })
  })

  it('frees the previous agent when a task is re-assigned without a block', () => {
    ingest([
      { kind: 'task.assigned', task_id: 't', agent_id: 'w1', ts: 1 },
      { kind: 'task.assigned', task_id: 't', agent_id: 'w2', ts: 2 },
    ], 'test')
    expect(row('SELECT status, current_task_id FROM agents WHERE id = ?', 'w1')).toEqual({ status: 'idle', current_task_id: null })
    expect(row('SELECT status, current_task_id FROM agents WHERE id = ?', 'w2')).toEqual({ status: 'busy', current_task_id: 't' })
  })

  it('creates the project of an event and keeps it in the event log', () => {
    ingest([msg({ project_id: 'shop' })], 'test')
    expect(row('SELECT id, name FROM projects')).toEqual({ id: 'shop', name: 'shop' })
    expect(row('SELECT kind, project_id, source FROM events')).toEqual({ kind: 'message', project_id: 'shop', source: 'test' })
    ingest([{ kind: 'project.upserted', project_id: 'shop', name: 'Shop', tags: ['web'] }], 'test')
    expect(row('SELECT name, tags FROM projects')).toEqual({ name: 'Shop', tags: '["web"]' })
  })

  it('keeps generic events as activity of the agent they name', () => {
    ingest([{ kind: 'agent.registered', agent_id: 'w', ts: 10 }, { kind: 'generic', type: 'ping', agent_id: 'w', ts: 99, data: { x: 1 } }], 'test')
    expect(row<{ last_active_at: number }>('SELECT last_active_at FROM agents').last_active_at).toBe(99)
  })
})

describe('agent commands', () => {
  it('applies an acknowledged pause, resume, capability update and queue clear to the agent', () => {
    ingest([
      { kind: 'agent.registered', agent_id: 'w', capabilities: ['a'], ts: 1 },
      { kind: 'task.upserted', task_id: 'queued', ts: 1 },
      { kind: 'command.issued', command_id: 'c1', agent_id: 'w', command: 'pause_processing', parameters: { reason: 'maintenance' }, ts: 2 },
    ], 'test')
    expect(row('SELECT status FROM agent_commands')).toEqual({ status: 'pending' })
    expect(row('SELECT status, paused FROM agents')).toEqual({ status: 'idle', paused: 0 })
    ingest([{ kind: 'command.updated', command_id: 'c1', status: 'delivered', ts: 3 }, { kind: 'command.updated', command_id: 'c1', status: 'acknowledged', ts: 4 }], 'test')
    expect(row('SELECT status, paused, status_reason FROM agents')).toEqual({ status: 'paused', paused: 1, status_reason: 'maintenance' })
    ingest([{ kind: 'task.assigned', task_id: 't', agent_id: 'w', ts: 5 }], 'test')
    expect(row<{ status: string }>('SELECT status FROM agents').status).toBe('paused')
    ingest([
      { kind: 'command.issued', command_id: 'c2', agent_id: 'w', command: 'resume_processing', ts: 6 },
      { kind: 'command.updated', command_id: 'c2', status: 'acknowledged', ts: 7 },
      { kind: 'command.issued', command_id: 'c3', agent_id: 'w', command: 'update_capabilities', parameters: { capabilities: ['a', 'b'] }, ts: 8 },
      { kind: 'command.updated', command_id: 'c3', status: 'acknowledged', ts: 9 },
    ], 'test')
    expect(row('SELECT status, paused, capabilities FROM agents')).toEqual({ status: 'busy', paused: 0, capabilities: '["a","b"]' })
  })

  it('refuses an update of an unknown command and leaves a finished command as it is', () => {
    const out = ingest([{ kind: 'command.updated', command_id: 'nope', status: 'acknowledged' }], 'test')
    expect(out.results[0]).toMatchObject({ status: 'rejected', error: { code: 'COMMAND_NOT_FOUND' } })
    ingest([
      { kind: 'command.issued', command_id: 'c', agent_id: 'w', command: 'request_status_report' },
      { kind: 'command.updated', command_id: 'c', status: 'failed', result: { error: 'offline' } },
      { kind: 'command.updated', command_id: 'c', status: 'acknowledged' },
    ], 'test')
    expect(row('SELECT status, result FROM agent_commands')).toEqual({ status: 'failed', result: '{"error":"offline"}' })
  })
})
