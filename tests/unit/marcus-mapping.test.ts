import { describe, expect, it } from 'vitest'
import { assignProject, fileKind, lineId, lineTime, type MarcusContext, mapRecord, recordTime } from '../../server/marcus/mapping'

const P = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'
const ctx = (): MarcusContext => ({ projectId: P, projectName: 'Task Master Test' })
const worker = (conversationType: string, message: string, metadata: Record<string, unknown>) => ({
  worker_id: 'agent-backend-01', conversation_type: conversationType, message, metadata: { project_id: P, project_name: 'Task Master Test', ...metadata },
  timestamp: '2026-03-02T09:03:12.002332Z', event: 'worker_communication', logger: 'worker', level: 'info',
})

describe('Marcus record mapping', () => {
  it('recognises the four log files by name', () => {
    expect(fileKind('conversations_20260302_090000.jsonl')).toBe('conversations')
    expect(fileKind('decisions_20260302_090000.jsonl')).toBe('decisions')
    expect(fileKind('realtime_20260302_090001.jsonl')).toBe('realtime')
    expect(fileKind('agent_events_20260302.jsonl')).toBe('agent_events')
    expect(fileKind('notes.txt')).toBeUndefined()
  })

  it('reads both timestamp spellings, with or without microseconds', () => {
    expect(recordTime({ timestamp: '2026-03-02T09:33:35.121576Z' })).toBe(Date.UTC(2026, 2, 2, 9, 33, 35, 121))
    expect(recordTime({ timestamp: '2026-03-02T09:33:35.121576+00:00' })).toBe(Date.UTC(2026, 2, 2, 9, 33, 35, 121))
    expect(recordTime({ timestamp: '2026-03-02T09:33:35+00:00' })).toBe(Date.UTC(2026, 2, 2, 9, 33, 35))
    expect(recordTime({ timestamp: 'yesterday' })).toBeUndefined()
  })

  it('gives the same line the same id, whichever file it is in', () => {
    const line = JSON.stringify(worker('worker_to_pm', 'Requesting next task', {}))
    expect(lineId(line)).toBe(lineId(line))
    expect(lineId(line)).not.toBe(lineId(`${line} `))
  })

  it('starts a line id with the line\'s own time, so ids of a log ascend', () => {
    const early = JSON.stringify({ ...worker('worker_to_pm', 'a', {}), timestamp: '2026-03-02T09:03:12.002332Z' })
    const late = JSON.stringify({ ...worker('worker_to_pm', 'a', {}), timestamp: '2026-03-02T09:03:13.000001Z' })
    expect(lineTime(early)).toBe(Date.UTC(2026, 2, 2, 9, 3, 12, 2))
    expect(lineTime('{"event": "no time"}')).toBeUndefined()
    expect(lineId(early, lineTime(early))).toMatch(/^ml_t[0-9a-z]{9}_[0-9a-f]{20}$/)
    expect(lineId(early, lineTime(early)) < lineId(late, lineTime(late))).toBe(true)
    expect(lineId(early, lineTime(early))).toBe(lineId(early, lineTime(early)))
  })

  it('turns a registration into a request message and an agent', () => {
    const { events, known } = mapRecord('conversations', worker('worker_to_pm', 'Registering as Backend Developer', {
      name: 'Backend Agent 01', role: 'Backend Developer', skills: ['backend', 'api'],
    }), 'ml_1', ctx())
    expect(known).toBe(true)
    expect(events.map(e => e.kind)).toEqual(['agent.registered', 'message'])
    expect(events[0]).toMatchObject({ id: 'ml_1:agent', agent_id: 'agent-backend-01', name: 'Backend Agent 01', type: 'Backend Developer', capabilities: ['backend', 'api'] })
    expect(events[1]).toMatchObject({ id: 'ml_1', sender: 'agent-backend-01', recipient: 'marcus', message_type: 'request', conversation_type: 'worker' })
  })

  it('turns "Task assigned:" into an assignment with priority and estimate', () => {
    const { events } = mapRecord('conversations', worker('pm_to_worker', 'Task assigned: Set up Express API', {
      task_id: '2024559182327091989', task_name: 'Set up Express API', priority: 'high', estimated_hours: 2.6,
    }), 'ml_2', ctx())
    expect(events.map(e => e.kind)).toEqual(['message', 'task.assigned'])
    expect(events[0]).toMatchObject({ sender: 'marcus', recipient: 'agent-backend-01', message_type: 'response' })
    expect(events[1]).toMatchObject({ task_id: '2024559182327091989', agent_id: 'agent-backend-01', task_name: 'Set up Express API', priority: 'high', estimated_hours: 2.6 })
  })

  it('ignores "Assigned task:" instructions as a fact (the assignment comes once)', () => {
    const { events } = mapRecord('conversations', worker('pm_to_worker', 'Assigned task: Set up Express API', { task_id: '1', instructions: 'do it' }), 'ml_3', ctx())
    expect(events.map(e => e.kind)).toEqual(['message'])
  })

  it('turns a progress report into task progress without the percent suffix', () => {
    const { events } = mapRecord('conversations', worker('worker_to_pm', 'Progress update: ERD done (100%)', { task_id: '9', status: 'completed', progress: 100 }), 'ml_4', ctx())
    expect(events[1]).toMatchObject({ kind: 'task.progress', task_id: '9', progress: 100, status: 'completed', message: 'ERD done' })
  })

  it('turns "Reporting blocker:" into a blocker with its severity', () => {
    const { events } = mapRecord('conversations', worker('worker_to_pm', 'Reporting blocker: pg_dump too old', { task_id: '9', severity: 'HIGH' }), 'ml_5', ctx())
    expect(events[1]).toMatchObject({ kind: 'blocker.reported', task_id: '9', severity: 'high', description: 'pg_dump too old' })
  })

  it('switches project on Marcus\'s decision and logs the decision', () => {
    const c: MarcusContext = {}
    const { events } = mapRecord('conversations', {
      conversation_type: 'decision', decision: 'Switching project from \'None\' to \'Task Master Test\'', rationale: 'User requested project switch',
      alternatives_considered: [], confidence_score: 1.0,
      decision_factors: { new_project_id: P, new_project_name: 'Task Master Test', provider: 'planka', tags: ['test', 'demo'] },
      timestamp: '2026-03-02T09:00:02.121046Z', event: 'pm_decision', logger: 'marcus', level: 'info',
    }, 'ml_6', c)
    expect(c.projectId).toBe(P)
    expect(events.map(e => e.kind)).toEqual(['project.upserted', 'message', 'decision.logged'])
    expect(events[0]).toMatchObject({ project_id: P, name: 'Task Master Test', provider: 'planka', tags: ['test', 'demo'] })
    expect(events[2]).toMatchObject({ decision: expect.stringContaining('Switching project'), confidence: 1 })
  })

  it('names the agent of an assignment decision', () => {
    const { events } = mapRecord('conversations', {
      decision: 'Assign task \'X\' to agent-backend-01', confidence_score: 0.85, decision_factors: {},
      timestamp: '2026-03-02T09:03:17.661432Z', event: 'pm_decision', logger: 'marcus', level: 'info',
    }, 'ml_7', ctx())
    expect(events.find(e => e.kind === 'decision.logged')).toMatchObject({ agent_id: 'agent-backend-01' })
  })

  it('puts a tool failure in the coordinator thread as an error answering the caller', () => {
    const { events } = mapRecord('conversations', {
      tool_name: 'request_next_task', arguments: { agent_id: 'agent-backend-01' }, error: 'Unknown error',
      event: 'MCP tool \'request_next_task\' returned failure', logger: 'marcus', level: 'warning', timestamp: '2026-03-02T09:33:35.121576Z',
    }, 'ml_8', ctx())
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ kind: 'message', message_type: 'error', sender: 'marcus', recipient: 'agent-backend-01', agent_id: 'marcus' })
    expect(assignProject(events, P)[0]!.conversation_id).toBe(`marcus:${P}:coordinator`)
  })

  it('keeps legacy records, realtime and agent events as generic events naming their agent', () => {
    const legacy = mapRecord('conversations', { event_type: 'assignment', task_id: '1', worker_id: 'agent-backend-01', event: 'task_assignment', timestamp: '2026-03-02T09:03:17Z' }, 'ml_9', ctx())
    expect(legacy.events[0]).toMatchObject({ kind: 'generic', type: 'task_assignment', agent_id: 'agent-backend-01' })
    const rt = mapRecord('realtime', { timestamp: '2026-03-02T09:03:17.644251+00:00', type: 'task_request', worker_id: 'agent-backend-01' }, 'ml_10', ctx())
    expect(rt.events[0]).toMatchObject({ kind: 'generic', type: 'realtime.task_request', agent_id: 'agent-backend-01' })
    const ae = mapRecord('agent_events', { timestamp: '2026-03-02T09:03:37+00:00', event_type: 'context_requested', data: { agent_id: 'agent-backend-01' } }, 'ml_11', ctx())
    expect(ae.events[0]).toMatchObject({ kind: 'generic', type: 'agent_event.context_requested', agent_id: 'agent-backend-01' })
    const reg = mapRecord('agent_events', { timestamp: '2026-03-02T09:03:12+00:00', event_type: 'worker_registration', data: { worker_id: 'w', name: 'W', role: 'R', skills: ['s'] } }, 'ml_12', ctx())
    expect(reg.events[0]).toMatchObject({ kind: 'agent.registered', agent_id: 'w', name: 'W', type: 'R', capabilities: ['s'] })
  })

  it('keeps an unknown record as generic and says it is unknown', () => {
    const { events, known } = mapRecord('conversations', { event: 'something_new', timestamp: '2026-03-02T09:00:00Z' }, 'ml_13', ctx())
    expect(known).toBe(false)
    expect(events[0]).toMatchObject({ kind: 'generic', type: 'something_new' })
  })

  it('fills the project into events and thread ids once it is known', () => {
    const { events } = mapRecord('conversations', { thought: 'hm', context: {}, event: 'pm_thinking', timestamp: '2026-03-02T09:00:00Z' }, 'ml_14', {})
    expect(events[0]!.project_id).toBeUndefined()
    const [e] = assignProject(events, 'p1')
    expect(e).toMatchObject({ project_id: 'p1', conversation_id: 'marcus:p1:coordinator' })
  })
})
