/**
 * Memory insights: what each agent has done and learned, from the insight rollups
 * (server/insights/rollups.ts) and the task history — profiles, history, a weekly learning
 * curve, blocker insights and a knowledge graph. Every figure names its method and the rows
 * it came from.
 */
import { knowledgeNodeTypes } from '../../shared/insights'
import { type Scope, inScope } from './access'
import { projectTasks } from './context'
import { apiError } from './errors'
import { iso } from './ids'
import { parseJson, round } from './values'
import {
  ESTIMATION_METHOD, estimation, freshness, hours, labelTable, projectFilter, rate, referenceTime, sampleConfidence, slope, stmt,
} from '../insights/common'
import type { Counters } from '../insights/rollups'

const SUMS = `sum(tasks) AS tasks, sum(succeeded) AS succeeded, sum(failed) AS failed, sum(blocked) AS blocked, sum(handed_off) AS handed_off,
  sum(open) AS open, sum(est_n) AS est_n, sum(est_sum) AS est_sum, sum(act_sum) AS act_sum, sum(ape_sum) AS ape_sum, sum(gap_n) AS gap_n, sum(gap_sum) AS gap_sum`

function counts(s: Counters) {
  return {
    tasks: s.tasks,
    succeeded: s.succeeded,
    failed: s.failed,
    blocked: s.blocked,
    handed_off: s.handed_off,
    open: s.open,
    /** Succeeded ÷ finished (succeeded + failed). */
    success_rate: rate(s.succeeded, s.succeeded + s.failed),
    /** Tasks blocked ÷ tasks worked. */
    blocked_rate: rate(s.blocked, s.tasks),
  }
}

type AgentMeta = { id: string, name: string, type: string | null, capabilities: string, project_id: string }

function agentMeta(id: string): AgentMeta | undefined {
  return stmt(`SELECT id, name, type, capabilities, project_id FROM agents WHERE id = ?`).get(id) as AgentMeta | undefined
}

export type MemoryQuery = { project_id?: string }

/** GET /api/memory/agents: one summary per agent with work in the caller's projects. */
export function listAgentMemory(q: MemoryQuery, scope: Scope) {
  const fresh = freshness()
  const params: Record<string, unknown> = {}
  const rows = stmt(`SELECT l.agent_id, a.name, a.type, count(DISTINCT l.project_id) AS projects, ${SUMS}
    FROM insight_agent_labels l LEFT JOIN agents a ON a.id = l.agent_id
    WHERE l.label = '' AND ${projectFilter('l.project_id', q.project_id, scope, params)}
    GROUP BY l.agent_id HAVING sum(tasks) > 0 ORDER BY l.agent_id`).all(params) as (Counters & { agent_id: string, name: string | null, type: string | null, projects: number })[]
  return {
    agents: rows.map(r => ({
      agent_id: r.agent_id, name: r.name ?? r.agent_id, type: r.type, projects: r.projects,
      ...counts(r),
      estimation_accuracy: estimation(r),
    })),
    total: rows.length,
    method: `Counted per task from its row, history and blockers: an agent that held a task counts it once; the agent holding it at the end owns its outcome. ${ESTIMATION_METHOD}`,
    freshness: fresh,
  }
}

function agentSums(agentId: string, projectId: string | undefined, scope: Scope) {
  const params: Record<string, unknown> = { agent: agentId }
  const filter = projectFilter('project_id', projectId, scope, params)
  const total = stmt(`SELECT ${SUMS}, count(*) AS n FROM insight_agent_labels WHERE agent_id = @agent AND label = '' AND ${filter}`).get(params) as Counters & { n: number }
  const projects = (stmt(`SELECT project_id FROM insight_agent_labels WHERE agent_id = @agent AND label = '' AND ${filter} AND tasks > 0 ORDER BY project_id`).all(params) as { project_id: string }[]).map(r => r.project_id)
  return { total, projects, params, filter }
}

/** 404 unless the agent is known in the caller's scope (its own row, or work in a project of the scope). */
function requireAgent(agentId: string, projects: string[], scope: Scope): AgentMeta | undefined {
  const meta = agentMeta(agentId)
  if (projects.length === 0 && !(meta && inScope(scope, meta.project_id))) {
    throw apiError('AGENT_NOT_FOUND', `Agent with ID '${agentId}' does not exist`, { agent_id: agentId })
  }
  return meta
}

type FactRow = { task_id: string, project_id: string, status: string, completed_at: number, estimated_hours: number | null, actual_hours: number | null }

/**
 * The trend compares the older and the newer half of the agent's last finished tasks (at
 * most 200, by completion time): success rate and estimation accuracy of each half.
 * `improving`/`declining` when accuracy (or, without estimates, success rate) moved by at
 * least 0.05; `stable` otherwise; `insufficient_data` below 4 finished tasks.
 */
export function trendOf(facts: { status: string, estimated_hours: number | null, actual_hours: number | null }[]) {
  const half = (rows: typeof facts) => {
    const finished = rows.length
    const succeeded = rows.filter(r => r.status === 'done').length
    const measured = rows.filter(r => r.status === 'done' && r.estimated_hours && r.actual_hours !== null)
    const mape = measured.length ? measured.reduce((s, r) => s + Math.abs(r.actual_hours! - r.estimated_hours!) / r.estimated_hours!, 0) / measured.length : null
    return { tasks: finished, success_rate: rate(succeeded, finished), accuracy: mape === null ? null : round(Math.max(0, 1 - mape), 4) }
  }
  if (facts.length < 4) return { direction: 'insufficient_data' as const, earlier: half(facts.slice(0, Math.floor(facts.length / 2))), recent: half(facts.slice(Math.floor(facts.length / 2))) }
  const mid = Math.floor(facts.length / 2)
  const earlier = half(facts.slice(0, mid))
  const recent = half(facts.slice(mid))
  const delta = earlier.accuracy !== null && recent.accuracy !== null
    ? recent.accuracy - earlier.accuracy
    : (recent.success_rate ?? 0) - (earlier.success_rate ?? 0)
  const direction = delta >= 0.05 ? 'improving' as const : delta <= -0.05 ? 'declining' as const : 'stable' as const
  return { direction, earlier, recent }
}

/** GET /api/memory/agents/{id}: the agent's profile. */
export function agentProfile(agentId: string, q: MemoryQuery, scope: Scope) {
  const fresh = freshness()
  const { total, projects, params, filter } = agentSums(agentId, q.project_id, scope)
  const meta = requireAgent(agentId, projects, scope)
  const labels = stmt(`SELECT label, ${SUMS} FROM ${labelTable(filter)} WHERE agent_id = @agent AND label <> '' AND ${filter}
    GROUP BY label HAVING sum(tasks) > 0 ORDER BY sum(tasks) DESC, label`).all(params) as (Counters & { label: string })[]
  const skills = labels.map(l => ({
    label: l.label, ...counts(l),
    mean_actual_hours: l.est_n ? round(l.act_sum / l.est_n, 3) : null,
    estimate_ratio: l.est_sum > 0 ? round(l.act_sum / l.est_sum, 4) : null,
  }))
  const capabilities = parseJson<string[]>(meta?.capabilities, [])
  const byLabel = new Map(skills.map(s => [s.label.toLowerCase(), s]))
  const blockers = stmt(`SELECT b.key, sum(b.occurrences) AS by_agent, max(g.sample) AS sample, sum(g.occurrences) AS occurrences
    FROM insight_blocker_agents b JOIN insight_blocker_groups g ON g.project_id = b.project_id AND g.key = b.key
    WHERE b.agent_id = @agent AND ${filter.replaceAll('project_id', 'b.project_id')} AND b.occurrences > 0
    GROUP BY b.key ORDER BY by_agent DESC, b.key LIMIT 5`).all(params) as { key: string, by_agent: number, sample: string, occurrences: number }[]
  const facts = (stmt(`SELECT task_id, project_id, status, completed_at, estimated_hours, actual_hours FROM insight_task_facts
    WHERE agent_id = @agent AND completed_at IS NOT NULL AND ${filter} ORDER BY completed_at DESC LIMIT 200`).all(params) as FactRow[]).reverse()
  return {
    agent_id: agentId,
    name: meta?.name ?? agentId,
    type: meta?.type ?? null,
    capabilities,
    projects,
    ...counts(total.n ? total : { tasks: 0, succeeded: 0, failed: 0, blocked: 0, handed_off: 0, open: 0, est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0, gap_n: 0, gap_sum: 0 }),
    estimation_accuracy: estimation(total.n ? total : { est_n: 0, est_sum: 0, act_sum: 0, ape_sum: 0 }),
    /** Mean time between the agent's consecutive assignment/progress reports on a task. */
    usual_report_interval_hours: total.gap_n ? hours(total.gap_sum / total.gap_n) : null,
    skills,
    capability_success: capabilities.map((c) => {
      const s = byLabel.get(c.toLowerCase())
      return { capability: c, tasks: s?.tasks ?? 0, success_rate: s?.success_rate ?? null }
    }),
    common_blockers: blockers.map(b => ({ key: b.key, description: b.sample, occurrences_by_agent: b.by_agent, occurrences_total: b.occurrences })),
    trend: trendOf(facts),
    evidence: { recent_finished_task_ids: facts.slice(-10).map(f => f.task_id).reverse(), label_keys: skills.length },
    method: `Label keys are the task's labels, or role:<agent type> for unlabeled tasks. success_rate = succeeded ÷ (succeeded + failed); blocked_rate = blocked ÷ tasks. ${ESTIMATION_METHOD} `
      + 'Trend: older vs newer half of the last 200 finished tasks; a move of 0.05 in accuracy (success rate without estimates) counts.',
    freshness: fresh,
  }
}

export type HistoryQuery = { project_id?: string, limit: number, cursor?: string }

/** GET /api/memory/agents/{id}/history: what happened to the tasks the agent held, newest first. */
export function agentHistory(agentId: string, q: HistoryQuery, scope: Scope) {
  const params: Record<string, unknown> = { agent: agentId, limit: q.limit + 1 }
  const filter = projectFilter('h.project_id', q.project_id, scope, params)
  const meta = agentMeta(agentId)
  const any = stmt(`SELECT 1 FROM task_history h WHERE h.agent_id = @agent AND ${filter} LIMIT 1`).get(params)
  if (!any && !(meta && inScope(scope, meta.project_id))) throw apiError('AGENT_NOT_FOUND', `Agent with ID '${agentId}' does not exist`, { agent_id: agentId })
  let cursor = ''
  if (q.cursor) {
    const m = /^(\d+):(\d+)$/.exec(q.cursor)
    if (!m) throw apiError('INVALID_CURSOR', 'cursor must be the next_cursor of a previous page', { cursor: q.cursor })
    params.cts = Number(m[1])
    params.cseq = Number(m[2])
    cursor = 'AND (h.ts, h.seq) < (@cts, @cseq)'
  }
  const rows = stmt(`SELECT h.seq, h.task_id, t.name AS task_name, h.project_id, h.action, h.status, h.progress, h.note, h.ts
    FROM task_history h LEFT JOIN tasks t ON t.id = h.task_id
    WHERE h.agent_id = @agent AND ${filter} ${cursor} ORDER BY h.ts DESC, h.seq DESC LIMIT @limit`).all(params) as
    { seq: number, task_id: string, task_name: string | null, project_id: string, action: string, status: string | null, progress: number | null, note: string | null, ts: number }[]
  const hasMore = rows.length > q.limit
  const page = hasMore ? rows.slice(0, q.limit) : rows
  const last = page[page.length - 1]
  return {
    agent_id: agentId,
    history: page.map(r => ({
      seq: r.seq, task_id: r.task_id, task_name: r.task_name, project_id: r.project_id, action: r.action, status: r.status,
      progress: r.progress, note: r.note, timestamp: iso(r.ts)!,
    })),
    has_more: hasMore,
    next_cursor: hasMore && last ? `${last.ts}:${last.seq}` : null,
  }
}

export type CurveQuery = { project_id?: string, weeks: number }

/**
 * GET /api/memory/agents/{id}/learning-curve: per ISO week (Monday 00:00 UTC) the tasks the
 * agent finished, their success rate and estimation accuracy, with cumulative figures and the
 * least-squares slope of weekly accuracy and success rate (per week).
 */
export function learningCurve(agentId: string, q: CurveQuery, scope: Scope) {
  const fresh = freshness()
  const { projects, params, filter } = agentSums(agentId, q.project_id, scope)
  requireAgent(agentId, projects, scope)
  params.weeks = q.weeks
  const rows = (stmt(`SELECT week, sum(finished) AS finished, sum(succeeded) AS succeeded, sum(failed) AS failed, sum(blocked) AS blocked,
      sum(est_n) AS est_n, sum(est_sum) AS est_sum, sum(act_sum) AS act_sum, sum(ape_sum) AS ape_sum
    FROM insight_agent_weeks WHERE agent_id = @agent AND ${filter} GROUP BY week
    HAVING sum(finished) > 0 OR sum(blocked) > 0 ORDER BY week DESC LIMIT @weeks`).all(params) as
    { week: number, finished: number, succeeded: number, failed: number, blocked: number, est_n: number, est_sum: number, act_sum: number, ape_sum: number }[]).reverse()
  const cumulative = { finished: 0, succeeded: 0, est_n: 0, ape_sum: 0 }
  const weeks = rows.map((r) => {
    cumulative.finished += r.finished
    cumulative.succeeded += r.succeeded
    cumulative.est_n += r.est_n
    cumulative.ape_sum += r.ape_sum
    const est = estimation(r)
    return {
      week_start: iso(r.week)!,
      finished: r.finished, succeeded: r.succeeded, failed: r.failed, blocked: r.blocked,
      success_rate: rate(r.succeeded, r.finished),
      accuracy: est.accuracy,
      estimate_ratio: est.estimate_ratio,
      tasks_measured: r.est_n,
      cumulative_success_rate: rate(cumulative.succeeded, cumulative.finished),
      cumulative_accuracy: cumulative.est_n ? round(Math.max(0, 1 - cumulative.ape_sum / cumulative.est_n), 4) : null,
    }
  })
  const acc = weeks.filter(w => w.accuracy !== null).map(w => w.accuracy!)
  const succ = weeks.filter(w => w.success_rate !== null).map(w => w.success_rate!)
  return {
    agent_id: agentId,
    weeks,
    summary: {
      weeks: weeks.length,
      accuracy_slope_per_week: slope(acc),
      success_rate_slope_per_week: slope(succ),
      confidence: sampleConfidence(weeks.length),
    },
    method: `Weeks are ISO weeks (Monday 00:00 UTC) of each task's completion (blocked: of the first blocker report). ${ESTIMATION_METHOD} `
      + 'Slopes: least squares over the listed weeks with an estimate (accuracy) or a finished task (success rate), in units per week.',
    freshness: fresh,
  }
}

export type BlockerInsightQuery = { project_id?: string, limit: number, as_of?: number }

/**
 * GET /api/memory/blockers: blockers grouped by normalised description (the first 12 words,
 * lower case, numbers and ids as #): occurrences, how long they held work up (resolved: until
 * resolution; open: until the reference time) and the agents and tasks they hit.
 */
export function blockerInsights(q: BlockerInsightQuery, scope: Scope) {
  const fresh = freshness()
  const params: Record<string, unknown> = { limit: q.limit }
  const filter = projectFilter('project_id', q.project_id, scope, params)
  const asOf = referenceTime(q.as_of, q.project_id, scope)
  params.asOf = asOf
  const totals = stmt(`SELECT coalesce(sum(occurrences), 0) AS occurrences, coalesce(sum(resolved), 0) AS resolved, coalesce(sum(open_count), 0) AS open,
      coalesce(sum(resolved_delay_ms), 0) AS resolved_delay, coalesce(sum(open_count * @asOf - open_reported_sum), 0) AS open_delay, count(*) AS groups
    FROM insight_blocker_groups WHERE ${filter} AND occurrences > 0`).get(params) as { occurrences: number, resolved: number, open: number, resolved_delay: number, open_delay: number, groups: number }
  const groups = stmt(`SELECT project_id, key, occurrences, resolved, open_count, resolved_delay_ms, open_count * @asOf - open_reported_sum AS open_delay,
      first_reported_at, last_reported_at, sample
    FROM insight_blocker_groups WHERE ${filter} AND occurrences > 0
    ORDER BY occurrences DESC, last_reported_at DESC LIMIT @limit`).all(params) as
    { project_id: string, key: string, occurrences: number, resolved: number, open_count: number, resolved_delay_ms: number, open_delay: number, first_reported_at: number, last_reported_at: number, sample: string }[]
  const agentsOf = stmt(`SELECT agent_id, occurrences FROM insight_blocker_agents WHERE project_id = ? AND key = ? AND occurrences > 0 ORDER BY occurrences DESC, agent_id LIMIT 20`)
  const factsOf = stmt(`SELECT blocker_id, task_id FROM insight_blocker_facts WHERE project_id = ? AND key = ? ORDER BY reported_at DESC LIMIT 10`)
  return {
    as_of: iso(asOf)!,
    totals: {
      blockers: totals.occurrences, resolved: totals.resolved, open: totals.open, groups: totals.groups,
      delay_hours: hours(totals.resolved_delay + Math.max(0, totals.open_delay)),
    },
    blockers: groups.map((g) => {
      const facts = factsOf.all(g.project_id, g.key) as { blocker_id: string, task_id: string | null }[]
      return {
        key: g.key,
        project_id: g.project_id,
        description: g.sample,
        occurrences: g.occurrences,
        resolved: g.resolved,
        open: g.open_count,
        delay_hours: hours(g.resolved_delay_ms + Math.max(0, g.open_delay)),
        mean_resolution_hours: g.resolved ? hours(g.resolved_delay_ms / g.resolved) : null,
        first_reported_at: iso(g.first_reported_at),
        last_reported_at: iso(g.last_reported_at),
        agents_affected: (agentsOf.all(g.project_id, g.key) as { agent_id: string, occurrences: number }[]),
        evidence: { blocker_ids: facts.map(f => f.blocker_id), task_ids: [...new Set(facts.map(f => f.task_id).filter((t): t is string => t !== null))] },
      }
    }),
    method: 'Blockers with the same normalised description (first 12 words, lower case, numbers and ids as #) form one group. '
      + 'delay = Σ(resolved_at − reported_at) over resolved blockers + Σ(as_of − reported_at) over open ones; as_of defaults to the latest work event of the projects.',
    freshness: fresh,
  }
}

// ---------------------------------------------------------------------------------------
// Knowledge graph

export type KnowledgeNodeType = (typeof knowledgeNodeTypes)[number]

export type KnowledgeGraphQuery = { project_id?: string, agent_id?: string, node_types?: KnowledgeNodeType[], limit: number }

type GraphNode = { id: string, type: KnowledgeNodeType, ref_id: string, label: string, project_id: string | null, attributes: Record<string, unknown> }
type GraphEdge = { source: string, target: string, type: string }

/**
 * GET /api/memory/knowledge-graph: projects, agents, tasks, decisions and artifacts with their
 * relations (belongs_to, member_of, worked_on, depends_on, about, made_by, produced_for,
 * produced_by). Within `limit` nodes: every project and agent first, then the most recent tasks
 * (the agent's, with agent_id; of one project the last updated, otherwise the last created),
 * then the decisions and artifacts of those tasks and agents.
 */
export function knowledgeGraph(q: KnowledgeGraphQuery, scope: Scope) {
  const fresh = freshness()
  const types = new Set<KnowledgeNodeType>(q.node_types?.length ? q.node_types : knowledgeNodeTypes)
  const params: Record<string, unknown> = {}
  const pf = (col: string) => projectFilter(col, q.project_id, scope, params)
  // Fills in the scope parameters now: the parameter objects below are copies of `params`.
  pf('project_id')
  let budget = q.limit
  const nodes: GraphNode[] = []
  const edges: GraphEdge[] = []
  const seen = new Set<string>()
  const add = (n: GraphNode) => {
    if (seen.has(n.id) || budget <= 0) return false
    seen.add(n.id)
    nodes.push(n)
    budget--
    return true
  }
  const link = (source: string, target: string, type: string) => {
    if (seen.has(source) && seen.has(target)) edges.push({ source, target, type })
  }
  if (q.agent_id) {
    const meta = agentMeta(q.agent_id)
    const works = stmt(`SELECT 1 FROM insight_agent_labels WHERE agent_id = @agent AND label = '' AND ${pf('project_id')} LIMIT 1`).get({ ...params, agent: q.agent_id })
    if (!works && !(meta && inScope(scope, meta.project_id) && (q.project_id === undefined || meta.project_id === q.project_id))) {
      throw apiError('AGENT_NOT_FOUND', `Agent with ID '${q.agent_id}' does not exist`, { agent_id: q.agent_id })
    }
  }
  const agentParam = { ...params, agent: q.agent_id ?? null }

  // Which agents work in which projects (member_of), from the rollups.
  const membership = stmt(`SELECT l.project_id, l.agent_id, l.tasks, a.name, a.type FROM insight_agent_labels l LEFT JOIN agents a ON a.id = l.agent_id
    WHERE l.label = '' AND l.tasks > 0 AND ${pf('l.project_id')} AND (@agent IS NULL OR l.agent_id = @agent) ORDER BY l.tasks DESC LIMIT 5000`).all(agentParam) as
    { project_id: string, agent_id: string, tasks: number, name: string | null, type: string | null }[]
  const projectIds = q.agent_id
    ? [...new Set(membership.map(m => m.project_id))]
    : (stmt(`SELECT id FROM projects WHERE ${pf('id')} ORDER BY id LIMIT 1000`).all(params) as { id: string }[]).map(r => r.id)

  if (types.has('project') && projectIds.length) {
    const rows = stmt(`SELECT id, name, status FROM projects WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(projectIds)) as { id: string, name: string, status: string }[]
    for (const p of rows) add({ id: `project:${p.id}`, type: 'project', ref_id: p.id, label: p.name, project_id: p.id, attributes: { status: p.status } })
  }
  if (types.has('agent')) {
    const agents = new Map<string, { name: string | null, type: string | null, tasks: number }>()
    for (const m of membership) {
      const a = agents.get(m.agent_id) ?? { name: m.name, type: m.type, tasks: 0 }
      a.tasks += m.tasks
      agents.set(m.agent_id, a)
    }
    for (const [id, a] of agents) add({ id: `agent:${id}`, type: 'agent', ref_id: id, label: a.name ?? id, project_id: null, attributes: { type: a.type, tasks: a.tasks } })
  }
  let taskIds: string[] = []
  if (types.has('task') || types.has('decision') || types.has('artifact')) {
    const taskBudget = types.has('task') ? Math.ceil(budget * (types.has('decision') || types.has('artifact') ? 0.6 : 1)) : 200
    type Row = { id: string, project_id: string, name: string, status: string, assigned_agent_id: string | null, estimated_hours: number | null, progress: number }
    // One project without an agent: its graph is in memory (context.ts); take its most recently updated tasks from there.
    const taskRows: Row[] = q.project_id !== undefined && !q.agent_id
      ? [...projectTasks(q.project_id)].sort((a, b) => b.updated_at - a.updated_at || a.id.localeCompare(b.id)).slice(0, taskBudget)
      : stmt(q.agent_id
        ? `SELECT id, project_id, name, status, assigned_agent_id, estimated_hours, progress FROM tasks WHERE assigned_agent_id = @agent AND ${pf('project_id')} ORDER BY rowid DESC LIMIT @n`
        : `SELECT id, project_id, name, status, assigned_agent_id, estimated_hours, progress FROM tasks WHERE ${pf('project_id')} ORDER BY rowid DESC LIMIT @n`)
        .all({ ...agentParam, n: taskBudget }) as Row[]
    taskIds = taskRows.map(t => t.id)
    if (types.has('task')) {
      for (const t of taskRows) {
        add({ id: `task:${t.id}`, type: 'task', ref_id: t.id, label: t.name, project_id: t.project_id,
          attributes: { status: t.status, progress: t.progress, estimated_hours: t.estimated_hours, assigned_agent_id: t.assigned_agent_id } })
      }
    }
    for (const t of taskRows) {
      link(`task:${t.id}`, `project:${t.project_id}`, 'belongs_to')
      if (t.assigned_agent_id) link(`agent:${t.assigned_agent_id}`, `task:${t.id}`, 'worked_on')
    }
    if (taskIds.length) {
      const deps = stmt(`SELECT task_id, depends_on FROM task_dependencies WHERE task_id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(taskIds)) as { task_id: string, depends_on: string }[]
      for (const d of deps) link(`task:${d.task_id}`, `task:${d.depends_on}`, 'depends_on')
    }
  }
  const attach = (type: 'decision' | 'artifact') => {
    if (!types.has(type) || budget <= 0) return
    const share = type === 'decision' && types.has('artifact') ? Math.ceil(budget / 2) : budget
    const table = type === 'decision' ? 'decisions' : 'artifacts'
    const cols = type === 'decision' ? 'id, project_id, agent_id, task_id, decision AS label, confidence, ts' : 'id, project_id, agent_id, task_id, name AS label, artifact_type, location, ts'
    const forTasks = taskIds.length
      ? stmt(`SELECT ${cols} FROM ${table} WHERE task_id IN (SELECT value FROM json_each(@tasks)) ORDER BY ts DESC LIMIT @n`).all({ tasks: JSON.stringify(taskIds), n: share }) as Record<string, unknown>[]
      : []
    const rest = stmt(q.agent_id
      ? `SELECT ${cols} FROM ${table} WHERE agent_id = @agent AND ${pf('project_id')} ORDER BY ts DESC LIMIT @n`
      : `SELECT ${cols} FROM ${table} WHERE ${pf('project_id')} ORDER BY ts DESC LIMIT @n`).all({ ...agentParam, n: share }) as Record<string, unknown>[]
    let added = 0
    for (const r of [...forTasks, ...rest]) {
      if (added >= share) break
      const id = `${type}:${String(r.id)}`
      const attributes: Record<string, unknown> = { timestamp: iso(r.ts as number), task_id: r.task_id ?? null, agent_id: r.agent_id ?? null }
      if (type === 'decision') attributes.confidence = r.confidence ?? null
      else Object.assign(attributes, { artifact_type: r.artifact_type ?? null, location: r.location ?? null })
      if (add({ id, type, ref_id: String(r.id), label: String(r.label).slice(0, 200), project_id: String(r.project_id), attributes })) {
        added++
        link(id, `project:${String(r.project_id)}`, 'belongs_to')
        if (r.task_id) link(id, `task:${String(r.task_id)}`, type === 'decision' ? 'about' : 'produced_for')
        if (r.agent_id) link(id, `agent:${String(r.agent_id)}`, type === 'decision' ? 'made_by' : 'produced_by')
      }
    }
  }
  attach('decision')
  attach('artifact')
  for (const m of membership) link(`agent:${m.agent_id}`, `project:${m.project_id}`, 'member_of')

  const count = (sql: string) => (stmt(sql).get(agentParam) as { n: number }).n
  const totals = {
    project: projectIds.length,
    agent: new Set(membership.map(m => m.agent_id)).size,
    task: count(q.agent_id ? `SELECT count(*) AS n FROM tasks WHERE assigned_agent_id = @agent AND ${pf('project_id')}` : `SELECT count(*) AS n FROM tasks WHERE ${pf('project_id')}`),
    decision: count(q.agent_id ? `SELECT count(*) AS n FROM decisions WHERE agent_id = @agent AND ${pf('project_id')}` : `SELECT count(*) AS n FROM decisions WHERE ${pf('project_id')}`),
    artifact: count(q.agent_id ? `SELECT count(*) AS n FROM artifacts WHERE agent_id = @agent AND ${pf('project_id')}` : `SELECT count(*) AS n FROM artifacts WHERE ${pf('project_id')}`),
  }
  const shown = Object.fromEntries(knowledgeNodeTypes.map(t => [t, nodes.filter(n => n.type === t).length])) as Record<KnowledgeNodeType, number>
  return {
    nodes,
    edges,
    totals,
    shown,
    truncated: knowledgeNodeTypes.some(t => types.has(t) && shown[t] < totals[t]),
    filters: { project_id: q.project_id ?? null, agent_id: q.agent_id ?? null, node_types: [...types], limit: q.limit },
    freshness: fresh,
  }
}
