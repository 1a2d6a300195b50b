/**
 * The Marcus log connector against a real Marcus session (session-a), through the API:
 * every count in the fixture's README, restart without re-import, growing files, partial
 * and malformed lines, new files.
 */
import { appendFileSync, cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

const PROJECT = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'
const WORKERS = { 'agent-backend-01': 71, 'agent-database-01': 49, 'agent-frontend-01': 73, 'agent-testing-01': 75 }

let server: TestServer
let root: string

async function connector() {
  const { body } = await api(server.url, '/api/connectors')
  return body.connectors[0]
}

async function allMessages(conversationId: string) {
  const out: any[] = []
  let before: string | undefined
  for (;;) {
    const { body } = await api(server.url, `/api/conversations/${encodeURIComponent(conversationId)}/messages?limit=500${before ? `&before=${encodeURIComponent(before)}` : ''}`)
    out.unshift(...body.messages)
    if (!body.has_more) return out
    before = body.messages[0].id
  }
}

async function allEvents(kind: string) {
  const out: any[] = []
  let since = 0
  for (;;) {
    const { body } = await api(server.url, `/api/events?kind=${kind}&limit=1000&since_seq=${since}`)
    out.push(...body.events)
    if (!body.has_more) return out
    since = body.next_seq
  }
}

beforeAll(async () => {
  root = tempDir('seneca-marcus-')
  cpSync(sessionA, root, { recursive: true })
  server = await startServer({ MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100' })
  await waitFor(async () => (await connector())?.caught_up && (await connector()).lines === 1475, 30_000)
})

afterAll(async () => {
  await server?.dispose()
})

describe('Marcus session-a through the API', () => {
  it('reads all 1475 lines of the four files, none malformed or unknown', async () => {
    const c = await connector()
    expect(c.lines).toBe(1475)
    expect(c.malformed).toBe(0)
    expect(c.unknown).toBe(0)
    expect(Object.fromEntries(c.files.map((f: any) => [f.path.split('/').pop(), f.offset === f.size]))).toEqual({
      'conversations_20260302_090000.jsonl': true,
      'decisions_20260302_090000.jsonl': true,
      'realtime_20260302_090001.jsonl': true,
      'agent_events_20260302.jsonl': true,
    })
  })

  it('reads the logs on a worker thread of its own', () => {
    expect(server.output()).toContain('"reader":"worker thread"')
  })

  it('registers the four agents with their roles and skills', async () => {
    const { body } = await api(server.url, '/api/agents')
    expect(body.agents.map((a: any) => a.id).sort()).toEqual(Object.keys(WORKERS).sort())
    const backend = body.agents.find((a: any) => a.id === 'agent-backend-01')
    expect(backend).toMatchObject({ name: 'Backend Agent 01', type: 'Backend Developer', project_id: PROJECT })
    expect(backend.capabilities).toEqual(['backend', 'api', 'nodejs', 'typescript', 'security', 'auth', 'infrastructure'])
    const completed = Object.fromEntries(body.agents.map((a: any) => [a.id, a.performance.tasks_completed]))
    expect(completed).toEqual({ 'agent-backend-01': 6, 'agent-frontend-01': 5, 'agent-database-01': 3, 'agent-testing-01': 5 })
  })

  it('creates the project from Marcus\'s project switch', async () => {
    const { body } = await api(server.url, `/api/projects/${PROJECT}/conversations?limit=200`)
    expect(body.total).toBe(6)
  })

  it('keeps one thread per worker with 268 worker messages (121 to Marcus, 147 from it)', async () => {
    let toPm = 0
    let fromPm = 0
    for (const [worker, count] of Object.entries(WORKERS)) {
      const id = `marcus:${PROJECT}:${worker}`
      const { body: conv } = await api(server.url, `/api/conversations/${encodeURIComponent(id)}`)
      expect(conv.message_count).toBe(count)
      expect(conv.agent_id).toBe(worker)
      const messages = await allMessages(id)
      expect(messages).toHaveLength(count)
      toPm += messages.filter(m => m.sender === worker && m.recipient === 'marcus').length
      fromPm += messages.filter(m => m.sender === 'marcus' && m.recipient === worker).length
    }
    expect(toPm).toBe(121)
    expect(fromPm).toBe(147)
  })

  it('puts Marcus\'s 309 thoughts, 34 decisions and the one tool failure in the coordinator thread', async () => {
    const messages = await allMessages(`marcus:${PROJECT}:coordinator`)
    const byType = messages.reduce((acc: Record<string, number>, m) => ({ ...acc, [m.message_type]: (acc[m.message_type] ?? 0) + 1 }), {})
    expect(byType).toEqual({ thinking: 309, decision: 34, error: 1 })
    const failure = messages.find(m => m.message_type === 'error')
    expect(failure.timestamp).toBe('2026-03-02T09:33:35.121Z')
    expect(failure.metadata.tool_name).toBe('request_next_task')
    expect(failure.metadata.arguments).toEqual({ agent_id: 'agent-backend-01' })
    expect(failure.metadata.error).toBe('Unknown error')
  })

  it('keeps the 12 kanban interactions as the board thread', async () => {
    const messages = await allMessages(`marcus:${PROJECT}:board`)
    expect(messages).toHaveLength(12)
    const actions = messages.reduce((acc: Record<string, number>, m) => ({ ...acc, [m.metadata.action]: (acc[m.metadata.action] ?? 0) + 1 }), {})
    expect(actions).toEqual({ client_connection: 6, context_created: 1, project_switched: 1, provider_connected: 1, report_blocker: 3 })
  })

  it('records 34 decisions with their confidence scores', async () => {
    const { body } = await api(server.url, `/api/decisions?project_id=${PROJECT}&limit=100`)
    expect(body.total).toBe(34)
    const confidence = body.decisions.reduce((acc: Record<string, number>, d: any) => ({ ...acc, [String(d.confidence)]: (acc[String(d.confidence)] ?? 0) + 1 }), {})
    expect(confidence).toEqual({ 0.8: 3, 0.85: 26, 0.95: 4, 1: 1 })
    expect(body.decisions.filter((d: any) => d.alternatives.length > 0)).toHaveLength(26)
    const kinds = body.decisions.reduce((acc: Record<string, number>, d: any) => {
      const k = d.decision.split(' ').slice(0, 2).join(' ')
      return { ...acc, [k]: (acc[k] ?? 0) + 1 }
    }, {})
    expect(kinds).toEqual({ 'Acknowledge blocker': 3, 'Assign task': 26, 'Register agent': 4, 'Switching project': 1 })
  })

  it('derives 26 assignments of 24 distinct tasks and the final board of 25', async () => {
    const assignments = await allEvents('task.assigned')
    expect(assignments).toHaveLength(26)
    expect(new Set(assignments.map(a => a.payload.task_id)).size).toBe(24)
    const { body } = await api(server.url, `/api/tasks?project_id=${PROJECT}&limit=100`)
    // The 25th, never assigned, is known from get_task_context's dependent_tasks.
    expect(body.total).toBe(25)
    const byStatus = body.tasks.reduce((acc: Record<string, number>, t: any) => ({ ...acc, [t.status]: (acc[t.status] ?? 0) + 1 }), {})
    expect(byStatus).toEqual({ done: 19, blocked: 2, in_progress: 3, todo: 1 })
    expect(body.tasks.find((t: any) => t.id === '2099450444326119129')).toMatchObject({ name: 'Build task list view', status: 'todo' })
    const { body: indexes } = await api(server.url, '/api/tasks/2153554141374901371')
    expect(indexes.assigned_agent_id).toBe('agent-backend-01')
    expect(indexes.history.filter((h: any) => h.action === 'assigned').map((h: any) => h.agent_id)).toEqual(['agent-database-01', 'agent-backend-01'])
  })

  it('takes labels and dependency edges from the logged tool answers, each edge one the README lists', async () => {
    const readme = readFileSync(join(sessionA, 'README.md'), 'utf8')
    const keys = Object.fromEntries([...readme.matchAll(/`(\w+)`=(\d+)/g)].map(m => [m[1], m[2]]))
    const listed = new Map([...readme.matchAll(/^\| `(\d+)` \| [^|]+ \| \w+ \| ([^|]+) \|/gm)]
      .map(m => [m[1]!, m[2]!.trim() === '—' ? [] : m[2]!.split(',').map(k => keys[k.trim()])]),
    )
    expect(listed.size).toBe(25)
    const { body } = await api(server.url, `/api/tasks?project_id=${PROJECT}&limit=100`)
    const edges = body.tasks.flatMap((t: any) => t.depends_on.map((d: string) => [t.id, d]))
    expect(edges.length).toBeGreaterThan(10)
    for (const [task, dep] of edges) expect(listed.get(task), `${task} → ${dep}`).toContain(dep)
    expect(body.tasks.find((t: any) => t.id === '2024559182327091989').labels).toEqual(['backend', 'infrastructure', 'nodejs'])
  })

  it('counts progress reports by percent: 25×25, 50×22, 75×21, 100×19', async () => {
    const progress = await allEvents('task.progress')
    const byPercent = progress.reduce((acc: Record<string, number>, e) => ({ ...acc, [e.payload.progress]: (acc[e.payload.progress] ?? 0) + 1 }), {})
    expect(byPercent).toEqual({ 25: 25, 50: 22, 75: 21, 100: 19 })
    expect(progress.filter(e => e.payload.status === 'completed')).toHaveLength(19)
  })

  it('reports three blockers, one resolved by re-assignment', async () => {
    const { body } = await api(server.url, `/api/blockers?project_id=${PROJECT}`)
    expect(body.total).toBe(3)
    const rows = body.blockers.map((b: any) => [b.reported_at.slice(11, 19), b.agent_id, b.task_id, b.severity, b.status]).sort()
    expect(rows).toEqual([
      ['10:34:07', 'agent-database-01', '2335011857893696030', 'low', 'open'],
      ['11:02:01', 'agent-frontend-01', '2233207618360149109', 'medium', 'resolved'],
      ['11:35:32', 'agent-testing-01', '2447194537610700789', 'high', 'open'],
    ])
  })

  it('keeps every other record as a generic event: 13 system states, 6 Seneca pings, 39 state refreshes', async () => {
    const { body } = await api(server.url, '/api/events/stats')
    expect(body.generic_by_type).toMatchObject({
      'system_state': 13,
      'realtime.ping_request': 6,
      'realtime.ping_response': 6,
      'agent_event.ping_request': 6,
      'realtime.project_state_refreshed': 39,
      'realtime.server_startup': 1,
      'realtime.task_assignment': 26,
      'agent_event.task_assignment': 26,
      'task_assignment': 26,
      'agent_event.context_requested': 19,
      'agent_event.progress_update': 87,
      'progress_update': 87,
      'blocker_reported': 3,
      'realtime.task_request': 27,
      'agent_event.task_request': 27,
    })
    expect(body.by_kind.message).toBe(268 + 309 + 34 + 1 + 12)
  })

  it('shows the silent agent\'s last activity at 10:46:15', async () => {
    const { body } = await api(server.url, '/api/agents')
    const last = Object.fromEntries(body.agents.map((a: any) => [a.id, a.performance.last_active]))
    expect(last['agent-database-01']).toBe('2026-03-02T10:46:15.286Z')
    for (const id of ['agent-backend-01', 'agent-frontend-01', 'agent-testing-01']) expect(last[id] > '2026-03-02T11:48:00').toBe(true)
  })
})

describe('following the logs', () => {
  const conversations = () => join(root, 'logs/conversations/conversations_20260302_090000.jsonl')
  const line = (n: number, extra = '') => JSON.stringify({
    worker_id: 'agent-testing-01', conversation_type: 'worker_to_pm', message: `Follow-up note ${n}${extra}`,
    metadata: { project_id: PROJECT }, timestamp: `2026-03-02T12:0${n}:00.000000Z`, event: 'worker_communication', logger: 'worker', level: 'info',
  })
  const testingThread = `marcus:${PROJECT}:agent-testing-01`
  const count = async () => (await api(server.url, `/api/conversations/${encodeURIComponent(testingThread)}`)).body.message_count as number

  it('picks up a line appended while running within a second', async () => {
    const before = await count()
    const start = Date.now()
    appendFileSync(conversations(), `${line(1)}\n`)
    await waitFor(async () => (await count()) === before + 1, 5000, 20)
    expect(Date.now() - start).toBeLessThan(1000)
  })

  it('waits for the newline of a partial last line', async () => {
    const before = await count()
    const full = line(2)
    appendFileSync(conversations(), full.slice(0, 60))
    await new Promise(r => setTimeout(r, 500))
    expect(await count()).toBe(before)
    appendFileSync(conversations(), `${full.slice(60)}\n`)
    await waitFor(async () => (await count()) === before + 1, 5000)
  })

  it('counts a malformed line, keeps it, and goes on', async () => {
    const before = await connector()
    const messagesBefore = await count()
    appendFileSync(conversations(), `{"this is": not json\n${line(3)}\n`)
    await waitFor(async () => (await count()) === messagesBefore + 1, 5000)
    const after = await connector()
    expect(after.malformed).toBe(before.malformed + 1)
    const { body } = await api(server.url, '/api/events/stats')
    expect(body.generic_by_type.malformed_line).toBe(1)
  })

  it('follows a new log file (a new Marcus process)', async () => {
    const before = await count()
    writeFileSync(join(root, 'logs/conversations/conversations_20260302_120500.jsonl'), `${line(5, ' from a new process')}\n`)
    await waitFor(async () => (await count()) === before + 1, 5000)
  })

  it('neither re-imports nor skips after a restart', async () => {
    const { body: stats } = await api(server.url, '/api/events/stats')
    await server.stop()
    appendFileSync(conversations(), `${line(6, ' written while Seneca was down')}\n`)
    await server.restart()
    await waitFor(async () => (await connector())?.caught_up, 10_000)
    const c = await connector()
    expect(c.lines).toBe(1) // only the line written while down
    expect(c.events_duplicate).toBe(0)
    const { body: after } = await api(server.url, '/api/events/stats')
    expect(after.total).toBe(stats.total + 1)
  })
})
