import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checkAgentHealth, expireCommands, type HealthThresholds } from '../../server/utils/agent-health'
import { closeDatabase, openDatabase, setDatabase, useDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'

const t: HealthThresholds = { heartbeatTimeoutMs: 30_000, activityTimeoutMs: 15 * 60_000, degradedResponseMs: 10_000, degradedErrorRate: 0.2, windowMs: 15 * 60_000 }
const row = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).get(...args) as T
const rows = <T>(sql: string, ...args: unknown[]) => useDatabase().sqlite.prepare(sql).all(...args) as T[]
const status = (id: string) => row<{ status: string, status_reason: string | null }>('SELECT status, status_reason FROM agents WHERE id = ?', id)

let now: number
beforeEach(() => {
  setDatabase(openDatabase(':memory:'))
  now = Date.now()
})
afterEach(() => closeDatabase())

function team() {
  ingest([
    { kind: 'agent.registered', project_id: 'p', agent_id: 'a', capabilities: ['backend'], ts: now },
    { kind: 'agent.registered', project_id: 'p', agent_id: 'b', capabilities: ['backend'], ts: now },
    { kind: 'agent.registered', project_id: 'p', agent_id: 'c', capabilities: ['frontend'], ts: now },
    { kind: 'agent.registered', project_id: 'p', agent_id: 'd', capabilities: ['backend'], ts: now },
    { kind: 'agent.heartbeat', project_id: 'p', agent_id: 'a', ts: now },
    { kind: 'agent.heartbeat', project_id: 'p', agent_id: 'b', ts: now + 25_000 },
    { kind: 'agent.heartbeat', project_id: 'p', agent_id: 'c', ts: now + 25_000 },
    { kind: 'agent.heartbeat', project_id: 'p', agent_id: 'd', ts: now + 25_000 },
    { kind: 'task.upserted', project_id: 'p', task_id: 'api', labels: ['backend'], ts: now },
    { kind: 'task.upserted', project_id: 'p', task_id: 'busywork', labels: ['backend'], ts: now },
    { kind: 'task.assigned', project_id: 'p', task_id: 'api', agent_id: 'a', ts: now },
    { kind: 'task.assigned', project_id: 'p', task_id: 'busywork', agent_id: 'd', ts: now },
  ], 'test')
}

describe('agent health', () => {
  it('marks an agent unavailable after 30 s without a heartbeat and re-queues its task', () => {
    team()
    checkAgentHealth(now + 20_000, t)
    expect(status('a').status).toBe('busy')
    const stored = checkAgentHealth(now + 31_000, t)
    expect(status('a')).toEqual({ status: 'unavailable', status_reason: 'no heartbeat for 31 s (timeout 30 s)' })
    expect(stored.map(e => e.kind)).toEqual(['agent.status', 'alert.raised', 'task.assigned'])
    // b and d have the capability; d already holds a task, so b (lowest load) takes it.
    expect(row('SELECT assigned_agent_id, status FROM tasks WHERE id = ?', 'api')).toEqual({ assigned_agent_id: 'b', status: 'in_progress' })
    expect(rows('SELECT action, agent_id, note FROM task_history WHERE task_id = ? ORDER BY seq', 'api').slice(-2)).toEqual([
      { action: 'unassigned', agent_id: 'a', note: 're-assigned to b' },
      { action: 'requeued', agent_id: 'b', note: 're-queued from a (unavailable)' },
    ])
    expect(row('SELECT type, severity, subject_id FROM alerts')).toEqual({ type: 'agent_unavailable', severity: 'error', subject_id: 'a' })
    expect(checkAgentHealth(now + 32_000, t)).toEqual([])
  })

  it('brings an unavailable agent back with its next heartbeat', () => {
    team()
    checkAgentHealth(now + 31_000, t)
    ingest([{ kind: 'agent.heartbeat', project_id: 'p', agent_id: 'a', ts: now + 40_000 }], 'test')
    expect(status('a').status).toBe('idle')
  })

  it('gives agents known only by activity the longer activity timeout', () => {
    ingest([{ kind: 'agent.registered', project_id: 'm', agent_id: 'worker', ts: now }], 'test')
    checkAgentHealth(now + 10 * 60_000, t)
    expect(status('worker').status).toBe('idle')
    checkAgentHealth(now + 16 * 60_000, t)
    expect(status('worker').status).toBe('unavailable')
    ingest([{ kind: 'generic', project_id: 'm', type: 'tool_call', agent_id: 'worker', ts: now + 17 * 60_000 + 1, data: {} }], 'test')
    checkAgentHealth(now + 17 * 60_000 + 2, t)
    expect(status('worker')).toEqual({ status: 'idle', status_reason: 'active again' })
  })

  it('measures silence on the clock of an imported log, not the wall clock', () => {
    const logEnd = Date.UTC(2026, 2, 2, 11, 53)
    ingest([
      { kind: 'agent.registered', project_id: 'old', agent_id: 'quiet', ts: logEnd - 70 * 60_000 },
      { kind: 'agent.registered', project_id: 'old', agent_id: 'busy', ts: logEnd - 60_000 },
      { kind: 'generic', project_id: 'old', type: 'x', agent_id: 'busy', ts: logEnd, data: {} },
    ], 'test')
    checkAgentHealth(Date.now(), t)
    expect(status('quiet').status).toBe('unavailable')
    expect(status('busy').status).toBe('idle')
  })

  it('marks an agent degraded by slow answers and clears it when they pass', () => {
    ingest([
      { kind: 'agent.registered', project_id: 'p', agent_id: 'slow', ts: now },
      { kind: 'agent.heartbeat', project_id: 'p', agent_id: 'slow', ts: now },
      { kind: 'message', project_id: 'p', conversation_id: 'c', sender: 'boss', recipient: 'slow', content: 'q', ts: now },
      { kind: 'message', project_id: 'p', conversation_id: 'c', sender: 'slow', recipient: 'boss', content: 'a', ts: now + 12_000 },
    ], 'test')
    checkAgentHealth(now + 13_000, t)
    expect(status('slow').status).toBe('degraded')
    expect(status('slow').status_reason).toMatch(/^mean response 12000 ms/)
    expect(row<{ type: string }>('SELECT type FROM alerts').type).toBe('agent_degraded')
    ingest([{ kind: 'agent.heartbeat', project_id: 'p', agent_id: 'slow', ts: now + 16 * 60_000 }], 'test')
    checkAgentHealth(now + 16 * 60_000, t)
    expect(status('slow')).toEqual({ status: 'idle', status_reason: 'recovered' })
  })

  it('leaves a paused agent paused', () => {
    team()
    ingest([
      { kind: 'command.issued', project_id: 'p', command_id: 'c1', agent_id: 'a', command: 'pause_processing' },
      { kind: 'command.updated', project_id: 'p', command_id: 'c1', status: 'acknowledged' },
    ], 'test')
    checkAgentHealth(now + 60_000, t)
    expect(status('a').status).toBe('paused')
  })

  it('expires commands nobody acknowledged in time', () => {
    ingest([{ kind: 'command.issued', project_id: 'p', command_id: 'c1', agent_id: 'a', command: 'request_status_report', expires_at: now + 1000 }], 'test')
    expireCommands(now + 500)
    expect(row<{ status: string }>('SELECT status FROM agent_commands').status).toBe('pending')
    expireCommands(now + 2000)
    expect(row<{ status: string }>('SELECT status FROM agent_commands').status).toBe('expired')
  })
})
