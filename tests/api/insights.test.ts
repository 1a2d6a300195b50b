/**
 * Memory, patterns and context through the built server: Marcus session-a read by the log
 * connector gives non-empty, sensible answers (the counts of the fixture's README), a small
 * ingested project `shop` exercises dependencies, impact, loops and cross-project context,
 * and every answer is scoped to the caller's projects.
 */
import { cpSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { z } from 'zod'
import {
  agentHistoryResponse, agentProfileResponse, blockerInsightsResponse, completionPredictionResponse, contextGraphResponse, crossProjectResponse,
  impactResponse, knowledgeGraphResponse, learningCurveResponse, memoryAgentsResponse, patternListResponse, recommendationsResponse,
  taskContextResponse, taskPredictionResponse,
} from '../../shared/insights'
import { api, mintTestToken, sessionA, startServer, tempDir, type TestServer, waitFor } from '../helpers/server'

const MARCUS = '3f6c2a9e-5b1d-4c7e-9a8f-2d4b6e1c0a57'
const H = 3_600_000
const T = Date.UTC(2026, 2, 9, 9)

let server: TestServer

/** shop: s1 (2 h) → s2 (3 h) → s4 (1 h) and s1 → s3 (5 h) → s4; s1 done; a worker loops. */
const shop = [
  { kind: 'project.upserted', project_id: 'shop', name: 'Shop' },
  { kind: 'agent.registered', project_id: 'shop', agent_id: 'coder', name: 'Coder', type: 'Backend Developer', capabilities: ['api'] },
  { kind: 'task.upserted', project_id: 'shop', task_id: 's1', name: 'Schema', estimated_hours: 2, labels: ['db'], ts: T },
  { kind: 'task.upserted', project_id: 'shop', task_id: 's2', name: 'Cart API', estimated_hours: 3, labels: ['api'], depends_on: ['s1'], ts: T },
  { kind: 'task.upserted', project_id: 'shop', task_id: 's3', name: 'Checkout API', estimated_hours: 5, labels: ['api'], depends_on: ['s1'], ts: T },
  { kind: 'task.upserted', project_id: 'shop', task_id: 's4', name: 'Release', estimated_hours: 1, depends_on: ['s2', 's3'], ts: T },
  { kind: 'task.assigned', project_id: 'shop', task_id: 's1', agent_id: 'coder', ts: T },
  { kind: 'task.progress', project_id: 'shop', task_id: 's1', agent_id: 'coder', progress: 100, ts: T + 2 * H },
  { kind: 'task.assigned', project_id: 'shop', task_id: 's2', agent_id: 'coder', ts: T + 2 * H },
  { kind: 'task.assigned', project_id: 'shop', task_id: 's3', agent_id: 'agent-backend-01', ts: T + 2 * H },
  { kind: 'decision.logged', project_id: 'shop', agent_id: 'coder', task_id: 's2', decision: 'Keep carts in Redis', confidence: 0.7 },
  { kind: 'artifact.logged', project_id: 'shop', agent_id: 'coder', task_id: 's1', name: 'schema.sql', location: 'db/schema.sql' },
  ...[1, 2, 3].map(i => ({
    kind: 'message', project_id: 'shop', conversation_id: 'coder-thread', sender: 'coder', recipient: 'marcus', message_type: 'request',
    content: `Tests still failing on run ${i}, retrying`, ts: T + 2 * H + i * 60_000,
  })),
]

function shape<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body)
  expect(parsed.error?.issues ?? [], JSON.stringify(body).slice(0, 500)).toEqual([])
  expect(parsed.data, 'fields the schema does not document').toEqual(body)
  return parsed.data!
}

async function get<S extends z.ZodType>(path: string, schema: S, auth?: string): Promise<z.output<S>> {
  const res = await api(server.url, path, auth ? { auth } : {})
  expect(res.status, JSON.stringify(res.body).slice(0, 500)).toBe(200)
  return shape(schema, res.body)
}

beforeAll(async () => {
  const root = tempDir('seneca-insights-marcus-')
  cpSync(sessionA, root, { recursive: true })
  server = await startServer({ MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100' })
  await waitFor(async () => {
    const c = (await api(server.url, '/api/connectors')).body.connectors?.[0]
    return c?.caught_up && c.lines === 1475
  }, 30_000)
  const stored = await api(server.url, '/api/ingest', { method: 'POST', json: { events: shop } })
  expect(stored.status).toBe(200)
})

afterAll(async () => {
  await server?.dispose()
})

describe('memory of the Marcus session', () => {
  it('profiles the four workers with the fixture\'s completions and estimation accuracy', async () => {
    const body = await get(`/api/memory/agents?project_id=${MARCUS}`, memoryAgentsResponse)
    const byId = Object.fromEntries(body.agents.map(a => [a.agent_id, a]))
    expect(Object.keys(byId).sort()).toEqual(['agent-backend-01', 'agent-database-01', 'agent-frontend-01', 'agent-testing-01'])
    expect(Object.fromEntries(body.agents.map(a => [a.agent_id, a.succeeded]))).toEqual({ 'agent-backend-01': 6, 'agent-frontend-01': 5, 'agent-database-01': 3, 'agent-testing-01': 5 })
    // the silent agent's task went to agent-backend-01; the three blockers hit three agents
    expect(byId['agent-database-01']).toMatchObject({ handed_off: 1, blocked: 1 })
    expect(byId['agent-backend-01']!.blocked).toBe(0)
    // one estimated hour took about 12 simulated minutes: actual ÷ estimate ≈ 0.2
    for (const a of body.agents) {
      expect(a.estimation_accuracy.tasks_measured).toBe(a.succeeded)
      expect(a.estimation_accuracy.estimate_ratio).toBeGreaterThan(0.15)
      expect(a.estimation_accuracy.estimate_ratio).toBeLessThan(0.3)
    }
  })

  it('shows an agent\'s profile, history and learning curve', async () => {
    const profile = await get(`/api/memory/agents/agent-testing-01?project_id=${MARCUS}`, agentProfileResponse)
    expect(profile).toMatchObject({ name: 'Testing Agent 01', type: 'QA Engineer', succeeded: 5, blocked: 1, projects: [MARCUS] })
    expect(profile.common_blockers[0]!.description).toMatch(/PATCH \/api\/tasks/)
    expect(profile.skills[0]!.label).toBe('testing') // the board's labels of its tasks
    expect(profile.usual_report_interval_hours).toBeGreaterThan(0)
    expect(profile.trend.direction).not.toBe('insufficient_data')

    const page = await get('/api/memory/agents/agent-database-01/history?limit=5', agentHistoryResponse)
    expect(page.history[0]).toMatchObject({ action: 'unassigned', task_id: '2153554141374901371', note: 're-assigned to agent-backend-01' })
    expect(page.has_more).toBe(true)
    const next = await get(`/api/memory/agents/agent-database-01/history?limit=500&cursor=${page.next_cursor}`, agentHistoryResponse)
    expect(next.history[0]!.seq).toBeLessThan(page.history[4]!.seq)
    expect(next.has_more).toBe(false)

    const curve = await get('/api/memory/agents/agent-backend-01/learning-curve', learningCurveResponse)
    expect(curve.weeks.map(w => [w.week_start, w.finished, w.succeeded])).toEqual([['2026-03-02T00:00:00.000Z', 6, 6]])
    expect(curve.weeks[0]!.accuracy).toBeGreaterThan(0)
  })

  it('groups the three blockers with the delay they caused and whom they hit', async () => {
    const body = await get(`/api/memory/blockers?project_id=${MARCUS}`, blockerInsightsResponse)
    expect(body.as_of).toBe('2026-03-02T11:53:40.657Z')
    expect(body.totals).toMatchObject({ blockers: 3, resolved: 1, open: 2, groups: 3 })
    // CORS blocker: 11:02:01 → re-assigned 11:26:24 (0.406 h)
    const cors = body.blockers.find(b => b.description.startsWith('CORS'))!
    expect(cors).toMatchObject({ resolved: 1, mean_resolution_hours: 0.406, agents_affected: [{ agent_id: 'agent-frontend-01', occurrences: 1 }] })
    expect(cors.evidence.task_ids).toEqual(['2233207618360149109'])
    expect(body.totals.delay_hours).toBeGreaterThan(1.5)
  })

  it('draws the knowledge graph with filters', async () => {
    const g = await get(`/api/memory/knowledge-graph?project_id=${MARCUS}`, knowledgeGraphResponse)
    expect(g.totals).toEqual({ project: 1, agent: 4, task: 25, decision: 34, artifact: 0 })
    expect(g.shown).toEqual(g.totals)
    expect(g.edges.filter(e => e.type === 'member_of')).toHaveLength(4)
    expect(g.edges.some(e => e.type === 'made_by' && e.target === 'agent:agent-backend-01')).toBe(true)
    const agents = await get('/api/memory/knowledge-graph?node_types=agent,project&agent_id=agent-backend-01', knowledgeGraphResponse)
    expect(agents.nodes.map(n => n.id).sort()).toEqual(['agent:agent-backend-01', `project:${MARCUS}`, 'project:shop'])
    const small = await get('/api/memory/knowledge-graph?limit=10', knowledgeGraphResponse)
    expect(small.nodes).toHaveLength(10)
    expect(small.truncated).toBe(true)
    expect((await api(server.url, '/api/memory/knowledge-graph?node_types=robots')).status).toBe(400)
    expect((await api(server.url, '/api/memory/agents/nobody')).status).toBe(404)
    expect((await api(server.url, '/api/memory/agents/agent-backend-01/history?cursor=junk')).body.error.code).toBe('INVALID_CURSOR')
  })
})

describe('patterns and predictions', () => {
  it('finds durations, best agents and peak hours in the Marcus session', async () => {
    const body = await get(`/api/patterns?project_id=${MARCUS}`, patternListResponse)
    expect(body.counts).toMatchObject({ label_duration: 22, best_agent: 22, peak_hours: 1 })
    const peak = body.patterns.find(p => p.type === 'peak_hours')!
    expect(peak.evidence.top_completion_hours).toEqual([9, 10, 11])
    const best = (label: string) => body.patterns.find(p => p.type === 'best_agent' && p.id.endsWith(`:${label}`))!.title
    expect(best('testing')).toBe('agent-testing-01 is the best fit for testing')
    expect(best('database')).toBe('agent-database-01 is the best fit for database')
    // judged an hour after the log ends, the three open tasks have stalled
    const later = await get(`/api/patterns?project_id=${MARCUS}&type=stall&as_of=2026-03-02T13:00:00Z`, patternListResponse)
    expect(later.patterns.map(p => p.evidence.task_id).sort()).toEqual(['1899431343800863809', '2233207618360149109', '2302800905221492049'])
  })

  it('detects a loop and recommends interrupting it', async () => {
    const loops = await get('/api/patterns?project_id=shop&type=loop', patternListResponse)
    expect(loops.patterns[0]!.evidence).toMatchObject({ agent_id: 'coder', conversation_id: 'coder-thread', repeats: 3 })
    const recs = await get('/api/patterns/recommendations?project_id=shop', recommendationsResponse)
    expect(recs.recommendations.map(r => r.action)).toContain('Interrupt coder: it is repeating itself in coder-thread')
    const marcus = await get(`/api/patterns/recommendations?project_id=${MARCUS}`, recommendationsResponse)
    expect(marcus.recommendations.length).toBeGreaterThan(0)
  })

  it('forecasts the Marcus project\'s completion from its velocity', async () => {
    const body = await get(`/api/patterns/predictions/projects/${MARCUS}/completion`, completionPredictionResponse)
    // 19 completions between 09:00 and 12:00 (3 clock hours); 6 open tasks (one never assigned)
    expect(body.inputs).toMatchObject({ completed_in_window: 19, window_hours: 3, remaining_tasks: 6, rate_per_hour: 6.3333 })
    expect(body.prediction.expected_hours).toBeCloseTo(6 / (19 / 3), 2)
    expect(Date.parse(body.prediction.interval!.earliest!)).toBeLessThan(Date.parse(body.prediction.expected_completion!))
    expect(Date.parse(body.prediction.interval!.latest!)).toBeGreaterThan(Date.parse(body.prediction.expected_completion!))
    expect((await api(server.url, '/api/patterns/predictions/projects/nope/completion')).status).toBe(404)
  })

  it('predicts a task\'s outcome from similar tasks and a delay\'s cascade', async () => {
    const p = await get('/api/patterns/predictions/tasks/1899431343800863809', taskPredictionResponse)
    expect(p.inputs).toMatchObject({ label_keys: ['testing', 'performance', 'auth'], assigned_agent_id: 'agent-testing-01' })
    expect(p.prediction).toMatchObject({ based_on: 'agent', finished: 6, success_probability: 0.875 })
    expect(p.prediction.blockage_probability).toBeGreaterThan(0)
    expect(p.inputs.similar_task_ids).not.toContain('1899431343800863809')
    const cascade = await get('/api/patterns/predictions/cascade?task_id=s2&delay_hours=3', impactResponse)
    expect(cascade.affected_tasks.map(t => [t.task_id, t.delay_hours])).toEqual([['s4', 1]])
    expect((await api(server.url, '/api/patterns/predictions/cascade?task_id=s2')).status).toBe(400)
  })
})

describe('context', () => {
  it('gives the dependency graph with each task\'s context and critical path', async () => {
    const g = await get('/api/context/projects/shop/graph', contextGraphResponse)
    expect(g.critical_path).toEqual({ tasks: ['s1', 's3', 's4'], hours: 6 })
    const s2 = g.nodes.find(n => n.id === 's2')!
    expect(s2).toMatchObject({ slack_hours: 2, on_critical_path: false, context: { depends_on: ['s1'], dependents: ['s4'], decision_count: 1 } })
    expect(g.nodes.find(n => n.id === 's1')!.context.artifact_count).toBe(1)
    const ctx = await get('/api/context/tasks/s2', taskContextResponse)
    expect(ctx.decisions.map(d => d.decision)).toEqual(['Keep carts in Redis'])
    expect(ctx.transitive_dependents).toBe(1)
    const marcus = await get(`/api/context/projects/${MARCUS}/graph`, contextGraphResponse)
    expect(marcus.total_tasks).toBe(25)
    expect(marcus.edges.length).toBeGreaterThan(10)
  })

  it('analyses delay and failure impact, including when the critical path moves', async () => {
    const within = await get('/api/context/tasks/s2/impact?delay_hours=1', impactResponse)
    expect(within).toMatchObject({ project_delay_hours: 0, affected_tasks: [], task_slack_hours: 2, critical_path: { moved: false } })
    const beyond = await get('/api/context/tasks/s2/impact?delay_hours=3', impactResponse)
    expect(beyond).toMatchObject({ project_delay_hours: 1, critical_path: { moved: true, after: { tasks: ['s1', 's2', 's4'], hours: 7 } } })
    expect(beyond.affected_agents.map(a => a.agent_id)).toEqual(['coder'])
    // s1 (done, 2 h) fails: redone, everything after it waits 2 h
    const failure = await get('/api/context/tasks/s1/impact?mode=failure', impactResponse)
    expect(failure).toMatchObject({ delay_hours: 2, project_delay_hours: 2 })
    expect(failure.affected_tasks.map(t => t.task_id).sort()).toEqual(['s2', 's3', 's4'])
    expect(failure.affected_agents.map(a => a.agent_id).sort()).toEqual(['agent-backend-01', 'coder'])
    expect((await api(server.url, '/api/context/tasks/nope/impact?delay_hours=1')).status).toBe(404)
  })

  it('shows what projects share', async () => {
    const x = await get('/api/context/cross-project', crossProjectResponse)
    expect(x.shared_agents.map(a => a.agent_id)).toEqual(['agent-backend-01'])
    expect(x.project_links).toEqual([{ projects: [MARCUS, 'shop'].sort(), shared_agents: 1, shared_artifacts: 0 }])
  })
})

describe('scoping', () => {
  it('answers a viewer of one project about that project only', async () => {
    const viewer = await mintTestToken({ role: 'viewer', projects: ['shop'] })
    const agents = await get('/api/memory/agents', memoryAgentsResponse, viewer)
    expect(agents.agents.map(a => a.agent_id).sort()).toEqual(['agent-backend-01', 'coder'])
    // agent-backend-01's work in the Marcus project is not counted
    expect(agents.agents.find(a => a.agent_id === 'agent-backend-01')).toMatchObject({ tasks: 1, succeeded: 0 })
    const status = (path: string) => api(server.url, path, { auth: viewer }).then(r => r.status)
    expect(await status('/api/memory/agents/agent-testing-01')).toBe(404)
    expect(await status(`/api/patterns?project_id=${MARCUS}`)).toBe(403)
    expect(await status(`/api/patterns/predictions/projects/${MARCUS}/completion`)).toBe(404)
    expect(await status('/api/context/tasks/1899431343800863809')).toBe(404)
    expect(await status(`/api/context/cross-project?project_id=${MARCUS}`)).toBe(403)
    const x = await get('/api/context/cross-project', crossProjectResponse, viewer)
    expect(x.shared_agents).toEqual([])
    const g = await get('/api/memory/knowledge-graph', knowledgeGraphResponse, viewer)
    expect(new Set(g.nodes.map(n => n.project_id).filter(Boolean))).toEqual(new Set(['shop']))
  })
})
