/**
 * Context visualization: the task dependency graph of a project with the context attached to
 * each task (decisions, artifacts, dependents), impact analysis of a delay or a failure
 * (which tasks and agents, by how much, whether the critical path moves) and cross-project
 * context (agents and artifacts shared between projects). Hours are estimated hours of work:
 * a task's remaining work is estimate × (1 − progress), done tasks none, unestimated tasks the
 * project's mean estimate.
 */
import { type Scope, inScope } from './access'
import { type Sqlite, useDatabase } from './db'
import { apiError } from './errors'
import { iso } from './ids'
import { criticalPath, type Node } from './projects'
import { round } from './values'
import { freshness, projectFilter, stmt } from '../insights/common'
import { GRAPH } from '../insights/rollups'

type TaskRow = {
  id: string
  project_id: string
  name: string
  status: string
  progress: number
  estimated_hours: number | null
  assigned_agent_id: string | null
  updated_at: number
}

type Edge = { from: string, to: string }

export type Schedule = {
  start: Map<string, number>
  finish: Map<string, number>
  slack: Map<string, number>
  makespan: number
  cyclic: string[]
  /** Position of each task in a topological order, and the graph's adjacency, for incremental re-scheduling. */
  position: Map<string, number>
  next: Map<string, string[]>
  prev: Map<string, string[]>
}

/**
 * Earliest start/finish of every task when each starts as soon as everything it depends on
 * is finished (forward pass), and its slack: how far it can slip before the end of the whole
 * graph moves (backward pass). Tasks in a dependency cycle are left out.
 */
export function schedule(nodes: { id: string, remaining: number }[], edges: Edge[]): Schedule {
  const remaining = new Map(nodes.map(n => [n.id, n.remaining]))
  const next = new Map<string, string[]>()
  const prev = new Map<string, string[]>()
  const indegree = new Map(nodes.map(n => [n.id, 0]))
  for (const e of edges) {
    if (!remaining.has(e.from) || !remaining.has(e.to)) continue
    let list = next.get(e.from)
    if (!list) next.set(e.from, list = [])
    list.push(e.to)
    let back = prev.get(e.to)
    if (!back) prev.set(e.to, back = [])
    back.push(e.from)
    indegree.set(e.to, indegree.get(e.to)! + 1)
  }
  const order: string[] = []
  const queue = nodes.filter(n => indegree.get(n.id) === 0).map(n => n.id)
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!
    order.push(id)
    for (const to of next.get(id) ?? []) {
      indegree.set(to, indegree.get(to)! - 1)
      if (indegree.get(to) === 0) queue.push(to)
    }
  }
  const start = new Map<string, number>()
  const finish = new Map<string, number>()
  for (const id of order) {
    const s = Math.max(0, ...(prev.get(id) ?? []).map(p => finish.get(p) ?? 0))
    start.set(id, s)
    finish.set(id, s + remaining.get(id)!)
  }
  const makespan = Math.max(0, ...finish.values())
  const latestStart = new Map<string, number>()
  for (let i = order.length - 1; i >= 0; i--) {
    const id = order[i]!
    const lf = Math.min(makespan, ...(next.get(id) ?? []).filter(d => latestStart.has(d)).map(d => latestStart.get(d)!))
    latestStart.set(id, lf - remaining.get(id)!)
  }
  const slack = new Map(order.map(id => [id, latestStart.get(id)! - start.get(id)!]))
  const position = new Map(order.map((id, i) => [id, i]))
  return { start, finish, slack, makespan, cyclic: nodes.filter(n => !position.has(n.id)).map(n => n.id), position, next, prev }
}

function taskOrThrow(id: string, scope: Scope): TaskRow {
  const row = stmt(`SELECT id, project_id, name, status, progress, estimated_hours, assigned_agent_id, updated_at FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined
  if (!row || !inScope(scope, row.project_id)) throw apiError('TASK_NOT_FOUND', `Task '${id}' does not exist`, { task_id: id })
  return row
}

type ProjectGraph = {
  generation: number
  tasks: TaskRow[]
  deps: { task_id: string, depends_on: string }[]
  fallback: number
  edges: Edge[]
  /** The graph as it stands: critical path and schedule, shared by every read until it changes. */
  path: ReturnType<typeof criticalPath>
  plan: Schedule
}

/** Projects whose graphs stay in memory (least recently used first out). */
const MAX_GRAPHS = 64
const graphs = new WeakMap<Sqlite, Map<string, ProjectGraph>>()

/**
 * A project's tasks, dependencies, critical path and schedule, kept in memory per project and
 * reloaded — from insight_graph_nodes, where the follower keeps each task next to the others of
 * its project — when the rollup follower has bumped the project's graph generation (any task,
 * blocker or dependency event of the project). Scheduling on every request would dominate
 * impact analysis.
 */
function projectGraph(projectId: string): ProjectGraph {
  freshness()
  const generation = (stmt(`SELECT value FROM insight_state WHERE name = ?`).get(`${GRAPH}${projectId}`) as { value: number } | undefined)?.value ?? 0
  const { sqlite } = useDatabase()
  let cache = graphs.get(sqlite)
  if (!cache) graphs.set(sqlite, cache = new Map())
  const known = cache.get(projectId)
  cache.delete(projectId)
  if (known && known.generation === generation) {
    cache.set(projectId, known)
    return known
  }
  const rows = stmt(`SELECT task_id AS id, project_id, name, status, progress, estimated_hours, assigned_agent_id, updated_at, depends_on
    FROM insight_graph_nodes WHERE project_id = ?`).all(projectId) as (TaskRow & { depends_on: string })[]
  const tasks: TaskRow[] = rows.map(({ depends_on: _deps, ...t }) => t)
  const deps = rows.flatMap(r => (JSON.parse(r.depends_on) as string[]).map(d => ({ task_id: r.id, depends_on: d })))
  const estimated = tasks.filter(t => t.estimated_hours !== null && t.estimated_hours > 0)
  const fallback = estimated.length ? estimated.reduce((s, t) => s + t.estimated_hours!, 0) / estimated.length : 1
  const edges = deps.map(d => ({ from: d.depends_on, to: d.task_id }))
  const nodes = nodesOf(tasks, fallback)
  const graph = { generation, tasks, deps, fallback, edges, path: criticalPath(nodes, edges), plan: schedule(nodes, edges) }
  cache.set(projectId, graph)
  while (cache.size > MAX_GRAPHS) cache.delete(cache.keys().next().value!)
  return graph
}

/** A project's tasks as the dependency graph holds them (do not modify). */
export function projectTasks(projectId: string): readonly TaskRow[] {
  return projectGraph(projectId).tasks
}

export function remainingOf(t: { status: string, progress: number, estimated_hours: number | null }, fallback: number): number {
  if (t.status === 'done' || t.status === 'cancelled') return 0
  return (t.estimated_hours ?? fallback) * (1 - Math.min(1, Math.max(0, t.progress)))
}

const nodesOf = (tasks: TaskRow[], fallback: number, override?: Map<string, number>): Node[] =>
  tasks.map(t => ({ id: t.id, stage: '', status: t.status, remaining: override?.get(t.id) ?? remainingOf(t, fallback) }))

export type ContextGraphQuery = { limit: number, status?: string }

/**
 * GET /api/context/projects/{project_id}/graph: every task (up to `limit`: the critical path
 * first, then open tasks, then the most recently updated) with its dependencies, schedule
 * figures and context; edges go from a task to the task it depends on.
 */
export function projectContextGraph(projectId: string, q: ContextGraphQuery, scope: Scope) {
  const project = stmt(`SELECT id, name FROM projects WHERE id = ?`).get(projectId) as { id: string, name: string } | undefined
  if (!project || !inScope(scope, projectId)) throw apiError('PROJECT_NOT_FOUND', `Project with ID '${projectId}' does not exist`, { project_id: projectId })
  const { tasks, deps, fallback, path, plan } = projectGraph(projectId)
  const onPath = new Set(path.tasks)
  const rank = (t: TaskRow) => (onPath.has(t.id) ? 0 : t.status === 'done' || t.status === 'cancelled' ? 2 : 1)
  const chosen = tasks.filter(t => q.status === undefined || t.status === q.status)
    .sort((a, b) => rank(a) - rank(b) || b.updated_at - a.updated_at || a.id.localeCompare(b.id))
    .slice(0, q.limit)
  const ids = new Set(chosen.map(t => t.id))
  const decisions = stmt(`SELECT id, task_id, agent_id, decision, confidence, ts FROM decisions WHERE project_id = ? AND task_id IS NOT NULL ORDER BY ts DESC`).all(projectId) as
    { id: string, task_id: string, agent_id: string | null, decision: string, confidence: number | null, ts: number }[]
  const artifacts = stmt(`SELECT id, task_id, agent_id, name, artifact_type, location, ts FROM artifacts WHERE project_id = ? AND task_id IS NOT NULL ORDER BY ts DESC`).all(projectId) as
    { id: string, task_id: string, agent_id: string | null, name: string, artifact_type: string | null, location: string | null, ts: number }[]
  const group = <T extends { task_id: string }>(rows: T[]) => {
    const m = new Map<string, T[]>()
    for (const r of rows) if (ids.has(r.task_id)) m.set(r.task_id, [...(m.get(r.task_id) ?? []), r])
    return m
  }
  const decisionsBy = group(decisions)
  const artifactsBy = group(artifacts)
  return {
    project_id: projectId,
    name: project.name,
    nodes: chosen.map((t) => {
      const d = decisionsBy.get(t.id) ?? []
      const a = artifactsBy.get(t.id) ?? []
      return {
        id: t.id, name: t.name, status: t.status, progress: t.progress, assigned_agent_id: t.assigned_agent_id,
        estimated_hours: t.estimated_hours, remaining_hours: round(remainingOf(t, fallback), 3),
        earliest_start_hours: plan.start.has(t.id) ? round(plan.start.get(t.id)!, 3) : null,
        earliest_finish_hours: plan.finish.has(t.id) ? round(plan.finish.get(t.id)!, 3) : null,
        slack_hours: plan.slack.has(t.id) ? round(plan.slack.get(t.id)!, 3) : null,
        on_critical_path: onPath.has(t.id),
        context: {
          depends_on: plan.prev.get(t.id) ?? [],
          dependents: plan.next.get(t.id) ?? [],
          decisions: d.slice(0, 5).map(x => ({ id: x.id, decision: x.decision, agent_id: x.agent_id, confidence: x.confidence, timestamp: iso(x.ts)! })),
          decision_count: d.length,
          artifacts: a.slice(0, 5).map(x => ({ id: x.id, name: x.name, artifact_type: x.artifact_type, location: x.location, agent_id: x.agent_id, timestamp: iso(x.ts)! })),
          artifact_count: a.length,
        },
      }
    }),
    edges: deps.filter(d => ids.has(d.task_id) && ids.has(d.depends_on)).map(d => ({ source: d.task_id, target: d.depends_on, type: 'depends_on' as const })),
    critical_path: { tasks: path.tasks, hours: path.hours },
    cyclic_tasks: path.cyclic,
    total_tasks: tasks.length,
    truncated: chosen.length < (q.status === undefined ? tasks.length : tasks.filter(t => t.status === q.status).length),
    method: 'Remaining hours = estimate × (1 − progress) (done: 0; no estimate: the project\'s mean estimate). Earliest start/finish: each task starts when all it depends on are finished; '
      + 'slack: how far a task can slip before the project\'s end moves; the critical path is the longest chain of remaining hours.',
  }
}

/** GET /api/context/tasks/{id}: one task with everything around it. */
export function taskContext(taskId: string, scope: Scope) {
  const t = taskOrThrow(taskId, scope)
  const { tasks, fallback, edges, path, plan } = projectGraph(t.project_id)
  const byId = new Map(tasks.map(x => [x.id, x]))
  const upstream = edges.filter(e => e.to === taskId).map(e => byId.get(e.from)).filter((x): x is TaskRow => !!x)
  const downstream = edges.filter(e => e.from === taskId).map(e => byId.get(e.to)).filter((x): x is TaskRow => !!x)
  const view = (x: TaskRow) => ({ id: x.id, name: x.name, status: x.status, progress: x.progress, assigned_agent_id: x.assigned_agent_id })
  const decisions = stmt(`SELECT id, agent_id, decision, rationale, confidence, ts FROM decisions WHERE task_id = ? ORDER BY ts DESC LIMIT 50`).all(taskId) as
    { id: string, agent_id: string | null, decision: string, rationale: string | null, confidence: number | null, ts: number }[]
  const artifacts = stmt(`SELECT id, agent_id, name, artifact_type, location, description, ts FROM artifacts WHERE task_id = ? ORDER BY ts DESC LIMIT 50`).all(taskId) as
    { id: string, agent_id: string | null, name: string, artifact_type: string | null, location: string | null, description: string | null, ts: number }[]
  const blockers = stmt(`SELECT id, agent_id, severity, description, status, reported_at, resolved_at FROM blockers WHERE task_id = ? ORDER BY reported_at`).all(taskId) as
    { id: string, agent_id: string | null, severity: string, description: string, status: string, reported_at: number, resolved_at: number | null }[]
  const agents = stmt(`SELECT agent_id, min(ts) AS first, max(ts) AS last, count(*) AS events FROM task_history WHERE task_id = ? AND agent_id IS NOT NULL GROUP BY agent_id ORDER BY first`).all(taskId) as
    { agent_id: string, first: number, last: number, events: number }[]
  return {
    task: { ...view(t), project_id: t.project_id, estimated_hours: t.estimated_hours, remaining_hours: round(remainingOf(t, fallback), 3) },
    depends_on: upstream.map(view),
    dependents: downstream.map(view),
    transitive_dependents: downstreamOf(taskId, plan.next).size,
    on_critical_path: path.tasks.includes(taskId),
    decisions: decisions.map(d => ({ id: d.id, agent_id: d.agent_id, decision: d.decision, rationale: d.rationale, confidence: d.confidence, timestamp: iso(d.ts)! })),
    artifacts: artifacts.map(a => ({ id: a.id, agent_id: a.agent_id, name: a.name, artifact_type: a.artifact_type, location: a.location, description: a.description, timestamp: iso(a.ts)! })),
    blockers: blockers.map(b => ({ id: b.id, agent_id: b.agent_id, severity: b.severity, description: b.description, status: b.status, reported_at: iso(b.reported_at)!, resolved_at: iso(b.resolved_at) })),
    agents: agents.map(a => ({ agent_id: a.agent_id, first_seen: iso(a.first)!, last_seen: iso(a.last)!, events: a.events })),
  }
}

/** Every task that depends on `taskId`, directly or through others. */
function downstreamOf(taskId: string, next: Map<string, string[]>): Set<string> {
  const out = new Set<string>()
  const stack = [taskId]
  while (stack.length) {
    for (const to of next.get(stack.pop()!) ?? []) {
      if (!out.has(to) && to !== taskId) {
        out.add(to)
        stack.push(to)
      }
    }
  }
  return out
}

export type ImpactQuery = { mode: 'delay' | 'failure', delay_hours?: number }

type ImpactTask = { id: string, status: string, progress: number, estimated_hours: number | null, assigned_agent_id: string | null, name: string }

/**
 * What a delay of `extra` hours on `taskId` does to the graph: the tasks whose earliest finish
 * moves and by how much, the agents holding them, and the critical path before and after.
 * Pure (unit-tested): the route loads the rows.
 */
export function analyseImpact(tasks: ImpactTask[], edges: Edge[], taskId: string, extra: number, fallback: number,
  current?: { plan: Schedule, path: { tasks: string[], hours: number } }) {
  const base = tasks.map(t => ({ id: t.id, stage: '', status: t.status, remaining: remainingOf(t, fallback) }))
  const before = current?.plan ?? schedule(base, edges)
  const pathBefore = current?.path ?? criticalPath(base, edges)
  // Only the task and what depends on it can move: re-run the forward pass over those, in
  // topological order, from the finishes of everything else.
  const remaining = new Map(base.map(n => [n.id, n.remaining]))
  const finishAfter = new Map<string, number>()
  const descendants = new Set<string>()
  const stack = [taskId]
  while (stack.length) {
    for (const to of before.next.get(stack.pop()!) ?? []) {
      if (!descendants.has(to) && to !== taskId) {
        descendants.add(to)
        stack.push(to)
      }
    }
  }
  if (before.finish.has(taskId)) finishAfter.set(taskId, before.finish.get(taskId)! + extra)
  for (const id of [...descendants].filter(d => before.position.has(d)).sort((a, b) => before.position.get(a)! - before.position.get(b)!)) {
    const start = Math.max(0, ...(before.prev.get(id) ?? []).map(p => finishAfter.get(p) ?? before.finish.get(p) ?? 0))
    finishAfter.set(id, start + remaining.get(id)!)
  }
  const makespanAfter = Math.max(before.makespan, ...finishAfter.values())
  // Within its slack the longest chain stays the longest; otherwise the chain is found again.
  const slack = before.slack.get(taskId)
  const pathAfter = slack !== undefined && extra < slack - 1e-9
    ? pathBefore
    : criticalPath(base.map(n => (n.id === taskId ? { ...n, remaining: n.remaining + extra } : n)), edges)
  const byId = new Map(tasks.map(t => [t.id, t]))
  const affected = [...finishAfter]
    .map(([id, f]) => ({ id, delay: f - (before.finish.get(id) ?? f) }))
    .filter(x => x.delay > 1e-9 && x.id !== taskId)
    .sort((a, b) => b.delay - a.delay || a.id.localeCompare(b.id))
  const agents = new Map<string, { tasks: string[], max: number }>()
  const own = byId.get(taskId)?.assigned_agent_id
  if (own) agents.set(own, { tasks: [taskId], max: extra })
  for (const a of affected) {
    const agent = byId.get(a.id)?.assigned_agent_id
    if (!agent) continue
    const entry = agents.get(agent) ?? { tasks: [], max: 0 }
    entry.tasks.push(a.id)
    entry.max = Math.max(entry.max, a.delay)
    agents.set(agent, entry)
  }
  const pathOnly = (p: { tasks: string[], hours: number }) => ({ tasks: p.tasks, hours: p.hours })
  return {
    affected_tasks: affected.map(a => ({
      task_id: a.id, name: byId.get(a.id)!.name, status: byId.get(a.id)!.status, assigned_agent_id: byId.get(a.id)!.assigned_agent_id,
      delay_hours: round(a.delay, 3), on_critical_path_after: pathAfter.tasks.includes(a.id),
    })),
    affected_agents: [...agents].map(([agent_id, e]) => ({ agent_id, tasks: e.tasks, max_delay_hours: round(e.max, 3) }))
      .sort((a, b) => b.max_delay_hours - a.max_delay_hours || a.agent_id.localeCompare(b.agent_id)),
    task_slack_hours: before.slack.has(taskId) ? round(before.slack.get(taskId)!, 3) : null,
    project_delay_hours: round(makespanAfter - before.makespan, 3),
    critical_path: {
      before: pathOnly(pathBefore),
      after: pathOnly(pathAfter),
      moved: pathBefore.tasks.join('\u0000') !== pathAfter.tasks.join('\u0000'),
      task_on_path_before: pathBefore.tasks.includes(taskId),
      task_on_path_after: pathAfter.tasks.includes(taskId),
    },
  }
}

/**
 * GET /api/context/tasks/{id}/impact. `delay`: the task takes `delay_hours` longer.
 * `failure`: the task fails and is redone from scratch — its remaining work becomes its whole
 * estimate, so the added hours are estimate − remaining (estimate × progress while open, the
 * whole estimate once done), and everything downstream waits for the redo.
 */
export function taskImpact(taskId: string, q: ImpactQuery, scope: Scope) {
  const t = taskOrThrow(taskId, scope)
  const { tasks, fallback, edges, path, plan } = projectGraph(t.project_id)
  const estimate = t.estimated_hours ?? fallback
  const remaining = remainingOf(t, fallback)
  if (q.mode === 'delay' && q.delay_hours === undefined) throw apiError('VALIDATION_FAILED', 'delay_hours is required for mode=delay', { parameter: 'delay_hours' })
  const extra = q.mode === 'failure' ? estimate - remaining : q.delay_hours!
  const result = analyseImpact(tasks, edges, taskId, extra, fallback, { plan, path })
  return {
    task_id: taskId,
    project_id: t.project_id,
    mode: q.mode,
    delay_hours: round(extra, 3),
    inputs: {
      status: t.status, progress: t.progress, estimated_hours: t.estimated_hours, fallback_estimate_hours: round(fallback, 3),
      remaining_hours_before: round(remaining, 3), remaining_hours_after: round(remaining + extra, 3),
      project_tasks: tasks.length, dependencies: edges.length,
    },
    transitive_dependents: downstreamOf(taskId, plan.next).size,
    ...result,
    method: 'Forward pass over the dependency graph (each task starts when all it depends on are finished) with and without the added hours; a task is affected when its earliest finish moves, '
      + 'by that much. Critical path = longest chain of remaining hours (before and after); project_delay_hours = change of the longest chain. '
      + (q.mode === 'failure' ? 'Failure: the task is redone from scratch, adding estimate − remaining hours.' : 'Delay: the task takes delay_hours longer.'),
  }
}

export type CrossProjectQuery = { project_id?: string, limit: number }

/**
 * GET /api/context/cross-project: agents that worked in more than one project and artifacts
 * found in more than one (same location, or same name when there is no location), within the
 * caller's projects; with project_id, only what that project shares with others.
 */
export function crossProjectContext(q: CrossProjectQuery, scope: Scope) {
  const fresh = freshness()
  const params: Record<string, unknown> = { limit: q.limit, focus: q.project_id ?? null }
  const filter = projectFilter('project_id', undefined, scope, params)
  if (q.project_id !== undefined && !inScope(scope, q.project_id)) throw apiError('PROJECT_NOT_FOUND', `Project with ID '${q.project_id}' does not exist`, { project_id: q.project_id })
  const agentRows = stmt(`SELECT l.agent_id, l.project_id, l.tasks, l.succeeded, a.name FROM insight_agent_labels l LEFT JOIN agents a ON a.id = l.agent_id
    WHERE l.label = '' AND l.tasks > 0 AND ${filter.replaceAll('project_id', 'l.project_id')} AND l.agent_id IN (
      SELECT agent_id FROM insight_agent_labels WHERE label = '' AND tasks > 0 AND ${filter}
      GROUP BY agent_id HAVING count(DISTINCT project_id) > 1 AND (@focus IS NULL OR sum(project_id = @focus) > 0) LIMIT @limit)
    ORDER BY l.agent_id, l.project_id`).all(params) as { agent_id: string, project_id: string, tasks: number, succeeded: number, name: string | null }[]
  const artifactRows = stmt(`SELECT coalesce(location, name) AS key, project_id, id, name FROM artifacts WHERE ${filter} AND coalesce(location, name) IN (
      SELECT coalesce(location, name) FROM artifacts WHERE ${filter}
      GROUP BY 1 HAVING count(DISTINCT project_id) > 1 AND (@focus IS NULL OR sum(project_id = @focus) > 0) LIMIT @limit)
    ORDER BY key, project_id`).all(params) as { key: string, project_id: string, id: string, name: string }[]
  const agents = new Map<string, { agent_id: string, name: string, projects: { project_id: string, tasks: number, succeeded: number }[] }>()
  for (const r of agentRows) {
    const a = agents.get(r.agent_id) ?? { agent_id: r.agent_id, name: r.name ?? r.agent_id, projects: [] }
    a.projects.push({ project_id: r.project_id, tasks: r.tasks, succeeded: r.succeeded })
    agents.set(r.agent_id, a)
  }
  const artifacts = new Map<string, { key: string, name: string, projects: { project_id: string, artifact_ids: string[] }[] }>()
  for (const r of artifactRows) {
    const a = artifacts.get(r.key) ?? { key: r.key, name: r.name, projects: [] }
    const p = a.projects.find(x => x.project_id === r.project_id)
    if (p) p.artifact_ids.push(r.id)
    else a.projects.push({ project_id: r.project_id, artifact_ids: [r.id] })
    artifacts.set(r.key, a)
  }
  const links = new Map<string, { projects: [string, string], shared_agents: number, shared_artifacts: number }>()
  const pairUp = (projects: string[], field: 'shared_agents' | 'shared_artifacts') => {
    for (let i = 0; i < projects.length; i++) {
      for (let j = i + 1; j < projects.length; j++) {
        const pair = [projects[i]!, projects[j]!].sort() as [string, string]
        if (q.project_id !== undefined && !pair.includes(q.project_id)) continue
        const key = pair.join('\u0000')
        const l = links.get(key) ?? { projects: pair, shared_agents: 0, shared_artifacts: 0 }
        l[field]++
        links.set(key, l)
      }
    }
  }
  for (const a of agents.values()) pairUp(a.projects.map(p => p.project_id), 'shared_agents')
  for (const a of artifacts.values()) pairUp(a.projects.map(p => p.project_id), 'shared_artifacts')
  return {
    project_id: q.project_id ?? null,
    shared_agents: [...agents.values()],
    shared_artifacts: [...artifacts.values()],
    project_links: [...links.values()].sort((a, b) => (b.shared_agents + b.shared_artifacts) - (a.shared_agents + a.shared_artifacts)),
    method: 'Agents: held at least one task in each project (from the task rollups). Artifacts: the same location (or name, without one) logged in several projects.',
    freshness: fresh,
  }
}
