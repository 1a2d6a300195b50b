/**
 * The insight computations with figures small enough to redo by hand: estimation accuracy,
 * the learning curve, pattern detection (recurring blockers, stalls, loops, best agents),
 * predictions with intervals, and critical-path shifts in impact analysis. The rollups are
 * exercised through the real ingest path against an in-memory database.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { closeDatabase, openDatabase, setDatabase } from '../../server/utils/db'
import { ingest } from '../../server/utils/ingest'
import { estimation, slope, smoothed, sampleConfidence, wilson } from '../../server/insights/common'
import { blockerKey, catchUpInsights, jaccard, normaliseText, shingles, taskContribution, weekStart } from '../../server/insights/rollups'
import { agentHistory, agentProfile, blockerInsights, knowledgeGraph, learningCurve, listAgentMemory, trendOf } from '../../server/utils/memory'
import { forecastCompletion, listPatterns, outcomeFrom, predictCompletion, predictTask, recommendations } from '../../server/utils/patterns'
import { analyseImpact, crossProjectContext, projectContextGraph, schedule, taskContext, taskImpact } from '../../server/utils/context'

const H = 3_600_000
/** Monday 2026-03-02 00:00 UTC. */
const MON = Date.UTC(2026, 2, 2)

beforeEach(() => setDatabase(openDatabase(':memory:')))
afterEach(() => closeDatabase())

function store(events: Record<string, unknown>[]) {
  const out = ingest(events, 'test')
  expect(out.results.filter(r => r.status === 'rejected')).toEqual([])
  catchUpInsights()
}

const patternQuery = { stall_factor: 3, min_occurrences: 2, limit: 50 }

describe('text and time helpers', () => {
  it('starts weeks on Monday 00:00 UTC', () => {
    expect(weekStart(Date.UTC(2026, 2, 4, 15))).toBe(MON)
    expect(weekStart(MON)).toBe(MON)
    expect(weekStart(MON - 1)).toBe(MON - 7 * 24 * H)
  })

  it('normalises numbers and ids away so retries of one message look the same', () => {
    expect(normaliseText('Retrying build #42 (attempt 3)...')).toBe('retrying build # attempt #')
    expect(normaliseText('Retrying build 43, attempt 4')).toBe('retrying build # attempt #')
    expect(blockerKey('Sandbox 7 is DOWN again!')).toBe('sandbox # is down again')
  })

  it('measures similarity as the Jaccard index of word 3-shingles', () => {
    // {a b c, b c d} against {a b c, b c e}: 1 shared of 3 distinct
    expect(jaccard(shingles('a b c d'), shingles('a b c e'))).toBeCloseTo(1 / 3, 10)
    expect(jaccard(shingles('a b'), shingles('a b'))).toBe(1)
  })
})

describe('statistics', () => {
  it('computes estimation accuracy from estimated vs actual hours', () => {
    // two tasks: estimate 2 took 3 (error 0.5), estimate 2 took 0 … rather 2 took 1.5 (error 0.25)
    expect(estimation({ est_n: 2, est_sum: 4, act_sum: 4.5, ape_sum: 0.75 })).toEqual({
      tasks_measured: 2, estimated_hours: 4, actual_hours: 4.5, estimate_ratio: 1.125, mean_absolute_percentage_error: 0.375, accuracy: 0.625,
    })
    expect(estimation({ est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0 }).accuracy).toBeNull()
    // an error above 100% floors accuracy at 0
    expect(estimation({ est_n: 1, est_sum: 1, act_sum: 3, ape_sum: 2 }).accuracy).toBe(0)
  })

  it('smooths rates, weighs samples and fits slopes', () => {
    expect(smoothed(0, 0)).toBe(0.5)
    expect(smoothed(8, 10)).toBe(0.75)
    expect(sampleConfidence(4)).toBe(0.5)
    expect(slope([0.2, 0.4, 0.6])).toBe(0.2)
    expect(slope([1])).toBeNull()
  })

  it('gives an 80% Wilson interval', () => {
    // p = 0.8, n = 10, z = 1.2816: centre (0.8 + z²/20) / (1 + z²/10) = 0.7577, half-width 0.1561
    const w = wilson(8, 10)!
    expect(w.low).toBeCloseTo(0.6016, 3)
    expect(w.high).toBeCloseTo(0.9138, 3)
    expect(wilson(0, 0)).toBeNull()
  })
})

describe('a task\'s contribution', () => {
  it('credits the outcome to the agent holding the task at the end and a hand-off to the one before', () => {
    const c = taskContribution(
      { id: 't', status: 'done', assigned_agent_id: 'a', estimated_hours: 2, labels: ['api'], started_at: 0, completed_at: 3 * H, updated_at: 3 * H },
      [
        { agent_id: 'b', action: 'assigned', ts: 0 },
        { agent_id: 'b', action: 'unassigned', ts: H },
        { agent_id: 'a', action: 'assigned', ts: H },
        { agent_id: 'a', action: 'progress', ts: 2 * H },
        { agent_id: 'a', action: 'progress', ts: 3 * H },
      ], [], null)
    expect(c.labels).toEqual(['api'])
    const a = c.agents.find(x => x.agent === 'a')!.c
    const b = c.agents.find(x => x.agent === 'b')!.c
    // took 3 h against 2 estimated: error 0.5; report gaps of 1 h and 1 h
    expect(a).toMatchObject({ tasks: 1, succeeded: 1, est_n: 1, est_sum: 2, act_sum: 3, ape_sum: 0.5, gap_n: 2, gap_sum: 2 * H })
    expect(b).toMatchObject({ tasks: 1, succeeded: 0, handed_off: 1, est_n: 0 })
    expect(c.completion).toEqual({ hour: 3 * H, estimate: 2 })
    expect(c.weeks).toEqual([{ agent: 'a', week: weekStart(3 * H), c: { finished: 1, succeeded: 1, failed: 0, blocked: 0, est_n: 1, est_sum: 2, act_sum: 3, ape_sum: 0.5 } }])
  })

  it('labels an unlabeled task by the role of its agent', () => {
    const c = taskContribution({ id: 't', status: 'blocked', assigned_agent_id: 'a', estimated_hours: null, labels: [], started_at: 0, completed_at: null, updated_at: 0 },
      [{ agent_id: 'a', action: 'blocked', ts: MON }], [{ agent_id: 'a', reported_at: MON }], 'role:QA Engineer')
    expect(c.labels).toEqual(['role:QA Engineer'])
    expect(c.agents[0]!.c).toMatchObject({ tasks: 1, blocked: 1, open: 1 })
    expect(c.weeks[0]).toMatchObject({ agent: 'a', week: MON, c: { blocked: 1, finished: 0 } })
  })
})

describe('trend', () => {
  it('compares the older and newer half of finished tasks', () => {
    const slow = { status: 'done', estimated_hours: 1, actual_hours: 2 } // error 1 → accuracy 0
    const exact = { status: 'done', estimated_hours: 1, actual_hours: 1 } // accuracy 1
    expect(trendOf([slow, slow, exact, exact])).toMatchObject({ direction: 'improving', earlier: { accuracy: 0 }, recent: { accuracy: 1 } })
    expect(trendOf([exact, exact, slow, slow]).direction).toBe('declining')
    expect(trendOf([exact, exact, exact]).direction).toBe('insufficient_data')
  })
})

describe('predictions', () => {
  it('forecasts completion from velocity with an 80% interval', () => {
    // 16 completions in 4 h: 4 per hour; 8 left: 2 h. z/√n = 1.2816/4 = 0.3204
    const f = forecastCompletion({ completed: 16, span_hours: 4, remaining_tasks: 8, completed_estimate: 32, remaining_estimate: 12 })
    expect(f.rate_per_hour).toBe(4)
    expect(f.expected_hours).toBe(2)
    expect(f.relative_error).toBe(0.3204)
    expect(f.interval_hours!.low).toBeCloseTo(8 / (4 * 1.3204), 3)
    expect(f.interval_hours!.high).toBeCloseTo(8 / (4 * 0.6796), 3)
    // 32 estimated hours in 4 h = 8 per hour; 12 left: 1.5 h
    expect(f.work_based_hours).toBe(1.5)
    // one completion: the slow end of the interval is unbounded
    expect(forecastCompletion({ completed: 1, span_hours: 1, remaining_tasks: 2, completed_estimate: 1, remaining_estimate: 2 }).interval_hours!.high).toBeNull()
  })

  it('predicts outcome and blockage from similar tasks', () => {
    // 8 of 10 finished succeeded: (8+1)/(10+2); 3 of 10 blocked: (3+1)/(10+2); took 1.5× estimates: 2 h → 3 h
    const o = outcomeFrom({ tasks: 10, succeeded: 8, failed: 2, blocked: 3, est_n: 5, est_sum: 10, act_sum: 15 }, 2)
    expect(o).toMatchObject({ similar_tasks: 10, finished: 10, success_probability: 0.75, blockage_probability: 0.3333, estimate_ratio: 1.5, expected_hours: 3 })
    expect(o.success_interval!.low).toBeCloseTo(0.6016, 3)
  })
})

describe('schedule and impact', () => {
  // a(2) → b(3) → d(1) and a → c(5) → d: the critical path a, c, d takes 8 h; b has 2 h of slack.
  const tasks = [['a', 2], ['b', 3], ['c', 5], ['d', 1]].map(([id, h]) => ({ id: id as string, name: id as string, status: 'todo', progress: 0, estimated_hours: h as number, assigned_agent_id: `agent-${id}` }))
  const edges = [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'd' }, { from: 'c', to: 'd' }]

  it('computes earliest starts and slack', () => {
    const s = schedule(tasks.map(t => ({ id: t.id, remaining: t.estimated_hours })), edges)
    expect(Object.fromEntries(s.start)).toEqual({ a: 0, b: 2, c: 2, d: 7 })
    expect(Object.fromEntries(s.slack)).toEqual({ a: 0, b: 2, c: 0, d: 0 })
    expect(s.makespan).toBe(8)
  })

  it('absorbs a delay within the slack: nothing else moves', () => {
    const r = analyseImpact(tasks, edges, 'b', 1, 1)
    expect(r.affected_tasks).toEqual([])
    expect(r.project_delay_hours).toBe(0)
    expect(r.critical_path.moved).toBe(false)
    expect(r.task_slack_hours).toBe(2)
    expect(r.affected_agents).toEqual([{ agent_id: 'agent-b', tasks: ['b'], max_delay_hours: 1 }])
  })

  it('moves the critical path when a delay exceeds the slack', () => {
    // b takes 6 h: a(2) + b(6) + d(1) = 9 > 8; d finishes 1 h later
    const r = analyseImpact(tasks, edges, 'b', 3, 1)
    expect(r.affected_tasks).toEqual([{ task_id: 'd', name: 'd', status: 'todo', assigned_agent_id: 'agent-d', delay_hours: 1, on_critical_path_after: true }])
    expect(r.project_delay_hours).toBe(1)
    expect(r.critical_path).toEqual({ before: { tasks: ['a', 'c', 'd'], hours: 8 }, after: { tasks: ['a', 'b', 'd'], hours: 9 }, moved: true, task_on_path_before: false, task_on_path_after: true })
  })

  it('delays everything downstream of a task on the critical path by the full amount', () => {
    const r = analyseImpact(tasks, edges, 'a', 2, 1)
    expect(r.affected_tasks.map(t => [t.task_id, t.delay_hours])).toEqual([['b', 2], ['c', 2], ['d', 2]])
    expect(r.project_delay_hours).toBe(2)
    expect(r.critical_path.moved).toBe(false)
  })
})

/** Two agents in project p: `a` finishes api tasks, `b` is blocked twice by the same sandbox. */
function seedProject() {
  const t0 = MON + 9 * H
  store([
    { kind: 'project.upserted', project_id: 'p', name: 'P' },
    { kind: 'agent.registered', project_id: 'p', agent_id: 'a', name: 'A', type: 'Backend', capabilities: ['api'] },
    { kind: 'agent.registered', project_id: 'p', agent_id: 'b', name: 'B', type: 'QA', capabilities: ['testing'] },
    { kind: 'task.upserted', project_id: 'p', task_id: 't1', name: 'one', estimated_hours: 2, labels: ['api'], ts: t0 },
    { kind: 'task.upserted', project_id: 'p', task_id: 't2', name: 'two', estimated_hours: 4, labels: ['api'], depends_on: ['t1'], ts: t0 },
    { kind: 'task.upserted', project_id: 'p', task_id: 't3', name: 'three', estimated_hours: 1, labels: ['test'], depends_on: ['t2'], ts: t0 },
    { kind: 'task.upserted', project_id: 'p', task_id: 't4', name: 'four', estimated_hours: 3, labels: ['test'], ts: t0 },
    // t1: 1 h against 2 (error 0.5); t2: 6 h against 4 (error 0.5)
    { kind: 'task.assigned', project_id: 'p', task_id: 't1', agent_id: 'a', ts: t0 },
    { kind: 'task.progress', project_id: 'p', task_id: 't1', agent_id: 'a', progress: 100, ts: t0 + H },
    { kind: 'task.assigned', project_id: 'p', task_id: 't2', agent_id: 'a', ts: t0 + H },
    { kind: 'task.progress', project_id: 'p', task_id: 't2', agent_id: 'a', progress: 50, ts: t0 + 4 * H },
    { kind: 'task.progress', project_id: 'p', task_id: 't2', agent_id: 'a', progress: 100, ts: t0 + 7 * H },
    { kind: 'task.assigned', project_id: 'p', task_id: 't4', agent_id: 'b', ts: t0 },
    { kind: 'blocker.reported', project_id: 'p', task_id: 't4', agent_id: 'b', severity: 'high', description: 'Sandbox 1 is down', ts: t0 + H },
    { kind: 'task.assigned', project_id: 'p', task_id: 't4', agent_id: 'b', ts: t0 + 3 * H },
    { kind: 'blocker.reported', project_id: 'p', task_id: 't4', agent_id: 'b', severity: 'high', description: 'Sandbox 2 is down', ts: t0 + 5 * H },
    { kind: 'task.assigned', project_id: 'p', task_id: 't3', agent_id: 'b', ts: t0 + 7 * H },
    { kind: 'task.progress', project_id: 'p', task_id: 't3', agent_id: 'b', progress: 25, ts: t0 + 7.5 * H },
  ])
  return t0
}

describe('memory from stored work', () => {
  it('profiles agents with counts, estimation accuracy, skills and common blockers', () => {
    seedProject()
    const list = listAgentMemory({}, null)
    expect(list.agents.map(a => [a.agent_id, a.tasks, a.succeeded, a.blocked, a.open])).toEqual([['a', 2, 2, 0, 0], ['b', 2, 0, 1, 2]])
    const a = agentProfile('a', {}, null)
    // (1 + 6) ÷ (2 + 4) = 1.1667; MAPE (0.5 + 0.5) / 2 = 0.5
    expect(a.estimation_accuracy).toEqual({ tasks_measured: 2, estimated_hours: 6, actual_hours: 7, estimate_ratio: 1.1667, mean_absolute_percentage_error: 0.5, accuracy: 0.5 })
    expect(a.skills.map(s => [s.label, s.succeeded, s.success_rate])).toEqual([['api', 2, 1]])
    expect(a.capability_success).toEqual([{ capability: 'api', tasks: 2, success_rate: 1 }])
    const b = agentProfile('b', {}, null)
    expect(b.common_blockers).toEqual([{ key: 'sandbox # is down', description: 'Sandbox 1 is down', occurrences_by_agent: 2, occurrences_total: 2 }])
    expect(() => agentProfile('nobody', {}, null)).toThrow(/does not exist/)
    expect(() => agentProfile('a', {}, ['other'])).toThrow(/does not exist/)
  })

  it('keeps the counters right when a finished task is taken over and finished again', () => {
    const t0 = seedProject()
    store([
      { kind: 'task.assigned', project_id: 'p', task_id: 't1', agent_id: 'b', ts: t0 + 8 * H },
      { kind: 'task.progress', project_id: 'p', task_id: 't1', agent_id: 'b', progress: 100, ts: t0 + 9 * H },
    ])
    const byId = Object.fromEntries(listAgentMemory({}, null).agents.map(x => [x.agent_id, x]))
    expect(byId.a).toMatchObject({ tasks: 2, succeeded: 1, handed_off: 1 })
    expect(byId.b).toMatchObject({ tasks: 3, succeeded: 1 })
  })

  it('pages the history and draws the weekly learning curve', () => {
    seedProject()
    const first = agentHistory('a', { limit: 2 }, null)
    expect(first.history.map(h => h.action)).toEqual(['progress', 'progress'])
    const second = agentHistory('a', { limit: 10, cursor: first.next_cursor! }, null)
    expect(second.history.map(h => [h.task_id, h.action])).toEqual([['t2', 'assigned'], ['t1', 'progress'], ['t1', 'assigned']])
    expect(second.has_more).toBe(false)
    const curve = learningCurve('a', { weeks: 12 }, null)
    expect(curve.weeks).toEqual([{
      week_start: new Date(MON).toISOString(), finished: 2, succeeded: 2, failed: 0, blocked: 0, success_rate: 1, accuracy: 0.5, estimate_ratio: 1.1667,
      tasks_measured: 2, cumulative_success_rate: 1, cumulative_accuracy: 0.5,
    }])
  })

  it('groups recurring blockers with the delay they caused', () => {
    const t0 = seedProject()
    const insight = blockerInsights({ limit: 10, as_of: t0 + 8 * H }, null)
    // first: reported +1 h, resolved by re-assignment +3 h (2 h); second: open since +5 h, 3 h at +8 h
    expect(insight.totals).toEqual({ blockers: 2, resolved: 1, open: 1, groups: 1, delay_hours: 5 })
    expect(insight.blockers[0]).toMatchObject({ key: 'sandbox # is down', occurrences: 2, resolved: 1, open: 1, delay_hours: 5, mean_resolution_hours: 2, agents_affected: [{ agent_id: 'b', occurrences: 2 }] })
    expect(insight.blockers[0]!.evidence.task_ids).toEqual(['t4'])
  })

  it('draws a knowledge graph with typed nodes and relations, filtered', () => {
    seedProject()
    store([{ kind: 'decision.logged', project_id: 'p', agent_id: 'a', task_id: 't2', decision: 'Use REST' }, { kind: 'artifact.logged', project_id: 'p', agent_id: 'a', task_id: 't2', name: 'openapi.yaml', location: 'docs/openapi.yaml' }])
    const g = knowledgeGraph({ limit: 100 }, null)
    expect(g.totals).toEqual({ project: 1, agent: 2, task: 4, decision: 1, artifact: 1 })
    expect(g.truncated).toBe(false)
    const edges = new Set(g.edges.map(e => `${e.source} ${e.type} ${e.target}`))
    for (const e of ['task:t2 depends_on task:t1', 'agent:a worked_on task:t2', 'agent:a member_of project:p', 'decision:' + g.nodes.find(n => n.type === 'decision')!.ref_id + ' about task:t2']) expect(edges).toContain(e)
    const onlyAgents = knowledgeGraph({ limit: 100, node_types: ['agent', 'project'] }, null)
    expect(onlyAgents.nodes.map(n => n.type).sort()).toEqual(['agent', 'agent', 'project'])
    expect(knowledgeGraph({ limit: 3 }, null).nodes).toHaveLength(3)
    // scoped to the caller's projects, or to one project
    expect(knowledgeGraph({ limit: 100 }, ['p']).totals).toEqual(g.totals)
    expect(knowledgeGraph({ limit: 100 }, ['other']).totals).toEqual({ project: 0, agent: 0, task: 0, decision: 0, artifact: 0 })
    expect(knowledgeGraph({ limit: 100, project_id: 'p', agent_id: 'b' }, null).nodes.filter(n => n.type === 'task').map(n => n.ref_id).sort()).toEqual(['t3', 't4'])
  })
})

describe('patterns from stored work', () => {
  it('finds recurring blockers, durations, best agents, peak hours and stalls with their evidence', () => {
    const t0 = seedProject()
    // b reported on t3 once in 0.5 h (its usual interval): 2 h later is 4× that, over the factor 3
    const found = listPatterns({ ...patternQuery, as_of: t0 + 9.5 * H }, null)
    expect(found.counts).toMatchObject({ recurring_blocker: 1, label_duration: 1, best_agent: 1, peak_hours: 1, stall: 1, loop: 0 })
    const stall = found.patterns.find(p => p.type === 'stall')!
    expect(stall.evidence).toMatchObject({ task_id: 't3', agent_id: 'b', idle_hours: 2, usual_interval_hours: 0.5, times_usual: 4 })
    const duration = found.patterns.find(p => p.type === 'label_duration')!
    expect(duration.evidence).toMatchObject({ label: 'api', tasks_measured: 2, mean_actual_hours: 3.5, estimate_ratio: 1.1667 })
    // at 2× the usual interval nothing is stalled yet
    expect(listPatterns({ ...patternQuery, as_of: t0 + 8.5 * H }, null).counts.stall).toBe(0)
  })

  it('shows the longest-stalled tasks first and counts every stalled one, per scope and as work arrives', () => {
    const T = MON
    const task = (project: string, id: string) => ({ kind: 'task.upserted', project_id: project, task_id: id, name: id, ts: T })
    store([
      { kind: 'project.upserted', project_id: 'p', name: 'P' },
      { kind: 'project.upserted', project_id: 'q', name: 'Q' },
      ...['s1', 's2', 's3', 's4'].map(id => task('p', id)), task('q', 'q1'),
      // a reports every hour; c never has, so the project's mean (1 h) is its usual interval
      { kind: 'task.assigned', project_id: 'p', task_id: 's1', agent_id: 'a', ts: T },
      { kind: 'task.progress', project_id: 'p', task_id: 's1', agent_id: 'a', progress: 10, ts: T + H },
      { kind: 'task.assigned', project_id: 'p', task_id: 's2', agent_id: 'a', ts: T + 0.5 * H },
      { kind: 'task.progress', project_id: 'p', task_id: 's2', agent_id: 'a', progress: 10, ts: T + 1.5 * H },
      { kind: 'task.assigned', project_id: 'p', task_id: 's3', agent_id: 'a', ts: T + 2 * H },
      { kind: 'task.assigned', project_id: 'p', task_id: 's4', agent_id: 'c', ts: T + 0.1 * H },
      // nobody in q has a usual interval: its task is never judged stalled
      { kind: 'task.assigned', project_id: 'q', task_id: 'q1', agent_id: 'z', ts: T },
    ])
    const stalls = (extra: Record<string, unknown>, scope: string[] | null = null) =>
      listPatterns({ ...patternQuery, type: 'stall', as_of: T + 10 * H, ...extra }, scope).patterns.map(p => [p.evidence.task_id, p.evidence.usual_from, p.evidence.stalled_tasks])
    expect(stalls({})).toEqual([['s4', 'project', 4], ['s1', 'agent', 4], ['s2', 'agent', 4], ['s3', 'agent', 4]])
    expect(stalls({ limit: 2 })).toEqual([['s4', 'project', 4], ['s1', 'agent', 4]])
    expect(stalls({ limit: 2, project_id: 'p' })).toEqual([['s4', 'project', 4], ['s1', 'agent', 4]])
    expect(stalls({ limit: 2 }, ['p'])).toEqual([['s4', 'project', 4], ['s1', 'agent', 4]])
    expect(stalls({ limit: 2 }, ['q'])).toEqual([])
    expect(stalls({ project_id: 'q' })).toEqual([])
    // an earlier reference time: only the tasks idle more than 3 h by then
    expect(stalls({ limit: 1, as_of: T + 4.6 * H })).toEqual([['s4', 'project', 3]])
    // new work moves the count at once
    store([task('p', 's5'), { kind: 'task.assigned', project_id: 'p', task_id: 's5', agent_id: 'a', ts: T + H }])
    expect(stalls({ limit: 2 })).toEqual([['s4', 'project', 5], ['s1', 'agent', 5]])
  })

  it('detects an agent repeating near-identical messages', () => {
    const t = MON
    store([
      { kind: 'agent.registered', project_id: 'p', agent_id: 'w', name: 'W' },
      ...[41, 42, 43, 44].map((n, i) => ({ kind: 'message', project_id: 'p', conversation_id: 'c', sender: 'w', recipient: 'marcus', message_type: 'request', content: `Retrying build ${n} after failure`, ts: t + i * 1000 })),
      { kind: 'message', project_id: 'p', conversation_id: 'c', sender: 'w', recipient: 'marcus', message_type: 'request', content: 'Build is green, moving on to docs', ts: t + 9000 },
      ...[1, 2].map(i => ({ kind: 'message', project_id: 'p', conversation_id: 'c', sender: 'w', message_type: 'request', content: `Waiting ${i}`, ts: t + 10_000 + i })),
    ])
    const loops = listPatterns({ ...patternQuery, type: 'loop' }, null).patterns
    expect(loops).toHaveLength(1)
    expect(loops[0]!.evidence).toMatchObject({ agent_id: 'w', conversation_id: 'c', repeats: 4, sample: 'Retrying build 43 after failure' })
    expect((loops[0]!.evidence.message_ids as string[])).toHaveLength(4)
  })

  it('predicts completion, task outcome and recommends actions from the patterns', () => {
    const t0 = seedProject()
    // completions in the clock hours of +1 h and +7 h: 2 tasks over 7 h; 2 open tasks left
    const c = predictCompletion('p', { as_of: t0 + 8 * H }, null)
    expect(c.inputs).toMatchObject({ completed_in_window: 2, window_hours: 7, remaining_tasks: 2, rate_per_hour: 0.2857 })
    expect(c.prediction.expected_hours).toBe(7)
    // n = 2: rate known to ±1.2816/√2 = ±90.6%; the slow end is 2 ÷ (2/7 × 0.0938)
    expect(c.prediction.interval!.level).toBe(0.8)
    expect(c.prediction.interval!.high_hours).toBeCloseTo(2 / ((2 / 7) * (1 - 1.2816 / Math.SQRT2)), 0)
    expect(c.prediction.interval!.low_hours).toBeCloseTo(2 / ((2 / 7) * (1 + 1.2816 / Math.SQRT2)), 2)
    // t3 (test) has 1 similar task of b (t4): blocked, not finished
    const p = predictTask('t3', null)
    expect(p.inputs.label_keys).toEqual(['test'])
    expect(p.similar.all_agents).toMatchObject({ similar_tasks: 1, finished: 0, success_probability: 0.5, blockage_probability: 0.6667 })
    expect(p.inputs.similar_task_ids).toEqual(['t4'])
    const recs = recommendations({ ...patternQuery, as_of: t0 + 9.5 * H }, null).recommendations
    expect(recs.map(r => r.id.split(':')[0])).toEqual(expect.arrayContaining(['fix', 'check']))
    expect(recs[0]!.priority).toBe('high')
  })
})

describe('context from stored work', () => {
  it('builds the dependency graph with each task\'s context and the critical path', () => {
    seedProject()
    store([{ kind: 'decision.logged', project_id: 'p', agent_id: 'a', task_id: 't2', decision: 'Use REST' }])
    const g = projectContextGraph('p', { limit: 100 }, null)
    // open work: t3 (1 h × 0.75 left) after done t1, t2; t4 (3 h, blocked)
    expect(g.critical_path).toEqual({ tasks: ['t4'], hours: 3 })
    const t2 = g.nodes.find(n => n.id === 't2')!
    expect(t2.context).toMatchObject({ depends_on: ['t1'], dependents: ['t3'], decision_count: 1 })
    expect(g.edges).toContainEqual({ source: 't2', target: 't1', type: 'depends_on' })
    // the graph kept in memory follows the log: t4 done moves the critical path to t3
    store([{ kind: 'task.progress', project_id: 'p', task_id: 't4', agent_id: 'b', progress: 100 }])
    expect(projectContextGraph('p', { limit: 100 }, null).critical_path).toEqual({ tasks: ['t1', 't2', 't3'], hours: 0.75 })
    const ctx = taskContext('t4', null)
    expect(ctx.blockers).toHaveLength(2)
    expect(ctx.agents.map(a => a.agent_id)).toEqual(['b'])
  })

  it('analyses the impact of a failure: the redo delays dependents and moves the critical path', () => {
    seedProject()
    // t2 (4 h, done) fails: redone from scratch, +4 h; t3 waits for it: 4 + 0.75 = 4.75 h > t4's 3 h
    const r = taskImpact('t2', { mode: 'failure' }, null)
    expect(r.delay_hours).toBe(4)
    expect(r.affected_tasks.map(t => [t.task_id, t.delay_hours])).toEqual([['t3', 4]])
    expect(r.affected_agents.map(a => a.agent_id)).toEqual(['a', 'b'])
    expect(r.critical_path).toMatchObject({ before: { tasks: ['t4'], hours: 3 }, after: { tasks: ['t1', 't2', 't3'], hours: 4.75 }, moved: true })
    expect(r.project_delay_hours).toBe(1.75)
    expect(() => taskImpact('t2', { mode: 'delay' }, null)).toThrow(/delay_hours/)
  })

  it('finds agents and artifacts shared between projects', () => {
    seedProject()
    store([
      { kind: 'task.assigned', project_id: 'q', task_id: 'q1', agent_id: 'a' },
      { kind: 'artifact.logged', project_id: 'p', name: 'schema.sql', location: 'db/schema.sql' },
      { kind: 'artifact.logged', project_id: 'q', name: 'schema.sql', location: 'db/schema.sql' },
    ])
    const x = crossProjectContext({ limit: 10 }, null)
    expect(x.shared_agents.map(a => [a.agent_id, a.projects.map(p => p.project_id)])).toEqual([['a', ['p', 'q']]])
    expect(x.shared_artifacts.map(a => a.key)).toEqual(['db/schema.sql'])
    expect(x.project_links).toEqual([{ projects: ['p', 'q'], shared_agents: 1, shared_artifacts: 1 }])
    // a caller who sees only p sees nothing shared
    expect(crossProjectContext({ limit: 10 }, ['p']).shared_agents).toEqual([])
  })
})
