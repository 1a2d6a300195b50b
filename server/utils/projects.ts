/**
 * Projects: progress, team and health computed from tasks and agents (never stored
 * constants), the workflow (stages, their dependencies, the critical path through the task
 * dependency graph, an estimated completion from measured velocity) and quality gates.
 */
import { createHash } from 'node:crypto'
import type { RiskLevel } from '../../shared/projects'
import { type Scope, scopeSql } from './access'
import { useDatabase } from './db'
import { apiError } from './errors'
import { iso } from './ids'
import { ingest } from './ingest'
import { projectTemplates, STAGE_LABEL } from './project-templates'
import { parseJson as json, round } from './values'

const HOUR = 3_600_000
/** Velocity is measured over tasks completed in this window. */
const VELOCITY_WINDOW_MS = 14 * 24 * HOUR

type ProjectRow = {
  id: string
  name: string
  description: string | null
  status: string
  provider: string | null
  template: string | null
  configuration: string | null
  team_requirements: string | null
  features: string | null
  tags: string | null
  due_at: number | null
  created_at: number
  updated_at: number
}

export type TaskRow = {
  id: string
  name: string
  status: string
  progress: number
  estimated_hours: number | null
  labels: string
  assigned_agent_id: string | null
  started_at: number | null
  completed_at: number | null
  due_at: number | null
}

function projectRow(id: string, scope: Scope): ProjectRow {
  const row = useDatabase().sqlite.prepare('SELECT * FROM projects WHERE id = ?').get(id) as ProjectRow | undefined
  if (!row || (scope !== null && !scope.includes(row.id))) throw apiError('PROJECT_NOT_FOUND', `Project with ID '${id}' does not exist`, { project_id: id })
  return row
}

function projectTasks(projectId: string): TaskRow[] {
  return useDatabase().sqlite.prepare(`SELECT id, name, status, progress, estimated_hours, labels, assigned_agent_id, started_at, completed_at, due_at
    FROM tasks WHERE project_id = ?`).all(projectId) as TaskRow[]
}

function dependencies(projectId: string): { task_id: string, depends_on: string }[] {
  return useDatabase().sqlite.prepare('SELECT task_id, depends_on FROM task_dependencies WHERE project_id = ?').all(projectId) as { task_id: string, depends_on: string }[]
}

// ---------------------------------------------------------------------------------------
// Progress, team, health

type Counts = { total: number, done: number, in_progress: number, blocked: number, overdue: number }

function progressOf(c: Counts) {
  return {
    total_tasks: c.total,
    completed_tasks: c.done,
    in_progress_tasks: c.in_progress,
    blocked_tasks: c.blocked,
    completion_percentage: c.total ? round(c.done / c.total, 4) : 0,
  }
}

type Team = { total_agents: number, active_agents: number, agent_types: string[], unavailable_agents: number }

export type Velocity = {
  /** Estimated hours of work completed per wall-clock hour, over recently completed tasks. */
  estimated_hours_per_hour: number | null
  /** Actual ÷ estimated duration of completed tasks (1.0: estimates hold). */
  estimate_ratio: number | null
  completed_in_window: number
}

/**
 * Measured over tasks completed in the VELOCITY_WINDOW_MS before the latest completion (so
 * a project that paused still has the pace it worked at): estimated hours completed per
 * wall-clock hour from the first start to the last completion, and actual ÷ estimated time.
 */
export function measureVelocity(tasks: TaskRow[], now: number): Velocity {
  const latest = Math.min(now, Math.max(0, ...tasks.map(t => (t.status === 'done' ? t.completed_at ?? 0 : 0))))
  const recent = tasks.filter(t => t.status === 'done' && t.completed_at !== null && t.completed_at >= latest - VELOCITY_WINDOW_MS)
  const measured = recent.filter(t => t.started_at !== null && t.estimated_hours)
  if (!measured.length) return { estimated_hours_per_hour: null, estimate_ratio: null, completed_in_window: recent.length }
  const start = Math.min(...measured.map(t => t.started_at!))
  const end = Math.max(...measured.map(t => t.completed_at!))
  const estimated = measured.reduce((s, t) => s + t.estimated_hours!, 0)
  const actual = measured.reduce((s, t) => s + (t.completed_at! - t.started_at!) / HOUR, 0)
  const span = Math.max((end - start) / HOUR, 1 / 60)
  return {
    estimated_hours_per_hour: round(estimated / span, 4),
    estimate_ratio: estimated > 0 ? round(actual / estimated, 4) : null,
    completed_in_window: recent.length,
  }
}

/**
 * Risk from three measurable signals, each worth points: the share of open tasks that are
 * blocked (≥50% 3, ≥25% 2, any 1), overdue tasks (≥3 2, any 1), and measured velocity
 * against what the due date requires (<0.5× 3, <0.8× 2, <1× 1; past due 4). Unavailable
 * team members add 1. 0 points: low; 1–2: medium; 3–4: high; 5+: critical.
 */
export function assessRisk(input: { counts: Counts, velocity: Velocity, remainingHours: number, dueAt: number | null, unavailableAgents: number, now: number }) {
  const issues: string[] = []
  let points = 0
  const open = input.counts.total - input.counts.done
  const blockedRatio = open > 0 ? input.counts.blocked / open : 0
  if (input.counts.blocked > 0) {
    points += blockedRatio >= 0.5 ? 3 : blockedRatio >= 0.25 ? 2 : 1
    issues.push(`${input.counts.blocked} of ${open} open tasks blocked`)
  }
  if (input.counts.overdue > 0) {
    points += input.counts.overdue >= 3 ? 2 : 1
    issues.push(`${input.counts.overdue} task${input.counts.overdue === 1 ? '' : 's'} overdue`)
  }
  let velocityRatio: number | null = null
  if (input.dueAt !== null && open > 0) {
    if (input.dueAt <= input.now) {
      points += 4
      issues.push('past its due date with work open')
    }
    else {
      const required = input.remainingHours / ((input.dueAt - input.now) / HOUR)
      const measured = input.velocity.estimated_hours_per_hour
      if (measured !== null && required > 0) {
        velocityRatio = round(measured / required, 4)
        if (velocityRatio < 1) {
          points += velocityRatio < 0.5 ? 3 : velocityRatio < 0.8 ? 2 : 1
          issues.push(`velocity is ${Math.round(velocityRatio * 100)}% of what the due date needs`)
        }
      }
    }
  }
  if (input.unavailableAgents > 0) {
    points += 1
    issues.push(`${input.unavailableAgents} agent${input.unavailableAgents === 1 ? '' : 's'} unavailable`)
  }
  const risk: RiskLevel = points === 0 ? 'low' : points <= 2 ? 'medium' : points <= 4 ? 'high' : 'critical'
  const status = risk === 'low' ? 'healthy' : risk === 'critical' ? 'critical' : 'at_risk'
  return { status, risk_level: risk, issues, blocked_ratio: round(blockedRatio, 4), velocity_vs_required: velocityRatio }
}

function remainingHours(tasks: TaskRow[]): number {
  const fallback = meanEstimate(tasks)
  return tasks.filter(t => t.status !== 'done' && t.status !== 'cancelled')
    .reduce((s, t) => s + (t.estimated_hours ?? fallback) * (1 - t.progress), 0)
}

function meanEstimate(tasks: TaskRow[]): number {
  const known = tasks.filter(t => t.estimated_hours).map(t => t.estimated_hours!)
  return known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1
}

function teams(scope: Scope, projectId?: string): Map<string, Team> {
  const params: Record<string, unknown> = {}
  const where = [...scopeSql('project_id', scope, params)]
  if (projectId) {
    where.push('project_id = @project')
    params.project = projectId
  }
  const rows = useDatabase().sqlite.prepare(`SELECT project_id, status, type FROM agents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`)
    .all(params) as { project_id: string, status: string, type: string | null }[]
  const out = new Map<string, Team>()
  for (const r of rows) {
    const team = out.get(r.project_id) ?? { total_agents: 0, active_agents: 0, agent_types: [], unavailable_agents: 0 }
    team.total_agents++
    if (r.status === 'unavailable') team.unavailable_agents++
    else if (r.status !== 'paused') team.active_agents++
    if (r.type && !team.agent_types.includes(r.type)) team.agent_types.push(r.type)
    out.set(r.project_id, team)
  }
  return out
}

function projectView(p: ProjectRow, tasks: TaskRow[], team: Team | undefined, now: number) {
  const counts: Counts = { total: tasks.length, done: 0, in_progress: 0, blocked: 0, overdue: 0 }
  for (const t of tasks) {
    if (t.status === 'done') counts.done++
    else if (t.status === 'in_progress') counts.in_progress++
    else if (t.status === 'blocked') counts.blocked++
    if (t.status !== 'done' && t.status !== 'cancelled' && t.due_at !== null && t.due_at < now) counts.overdue++
  }
  const velocity = measureVelocity(tasks, now)
  const members = team ?? { total_agents: 0, active_agents: 0, agent_types: [], unavailable_agents: 0 }
  const health = assessRisk({ counts, velocity, remainingHours: remainingHours(tasks), dueAt: p.due_at, unavailableAgents: members.unavailable_agents, now })
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    status: p.status,
    template: p.template,
    provider: p.provider,
    tags: json<string[]>(p.tags, []),
    created_at: iso(p.created_at),
    updated_at: iso(p.updated_at),
    due_at: iso(p.due_at),
    progress: progressOf(counts),
    team: { total_agents: members.total_agents, active_agents: members.active_agents, agent_types: members.agent_types },
    health: { status: health.status, risk_level: health.risk_level, issues: health.issues },
  }
}

export function listProjects(filters: { status?: string }, scope: Scope) {
  const { sqlite } = useDatabase()
  const params: Record<string, unknown> = {}
  const where = scopeSql('id', scope, params)
  if (filters.status) {
    where.push('status = @status')
    params.status = filters.status
  }
  const rows = sqlite.prepare(`SELECT * FROM projects ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY updated_at DESC, id`).all(params) as ProjectRow[]
  const taskRows = sqlite.prepare(`SELECT project_id, id, name, status, progress, estimated_hours, labels, assigned_agent_id, started_at, completed_at, due_at
    FROM tasks ${scope === null ? '' : 'WHERE project_id IN (SELECT value FROM json_each(@scope))'}`).all(scope === null ? {} : { scope: JSON.stringify(scope) }) as (TaskRow & { project_id: string })[]
  const byProject = new Map<string, TaskRow[]>()
  for (const t of taskRows) byProject.set(t.project_id, [...(byProject.get(t.project_id) ?? []), t])
  const teamMap = teams(scope)
  const now = Date.now()
  return { projects: rows.map(p => projectView(p, byProject.get(p.id) ?? [], teamMap.get(p.id), now)), total: rows.length }
}

export function getProject(id: string, scope: Scope) {
  const p = projectRow(id, scope)
  const tasks = projectTasks(id)
  const now = Date.now()
  const view = projectView(p, tasks, teams(null, id).get(id), now)
  return {
    ...view,
    configuration: json<Record<string, unknown>>(p.configuration, {}),
    team_requirements: json<Record<string, number>>(p.team_requirements, {}),
    features: json<Record<string, unknown>>(p.features, {}),
    quality_gates: evaluateQualityGates(id, json<Record<string, unknown>>(p.features, {})),
    velocity: measureVelocity(tasks, now),
  }
}

// ---------------------------------------------------------------------------------------
// Creating from templates

export function slugId(name: string): string {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^\w\s-]/g, '').trim().replace(/[\s_]+/g, '-').slice(0, 48) || 'project'
  return `${slug}-${createHash('sha1').update(`${name}${Date.now()}${Math.random()}`).digest('hex').slice(0, 6)}`
}

export type ProjectInput = {
  id?: string
  name: string
  description?: string
  template?: string
  configuration?: Record<string, unknown>
  team_requirements?: Record<string, number>
  due_at?: number | string
  tags?: string[]
}

/** Creates a project (and its template's tasks) through the ingest path, in one call. */
export function createProject(input: ProjectInput, createdBy: string) {
  const id = input.id ?? slugId(input.name)
  const exists = useDatabase().sqlite.prepare('SELECT 1 FROM projects WHERE id = ?').get(id)
  if (exists) throw apiError('CONFLICT', `Project '${id}' already exists`, { project_id: id })
  const events: Record<string, unknown>[] = [{
    kind: 'project.upserted', project_id: id, name: input.name, description: input.description, template: input.template,
    configuration: input.configuration, team_requirements: input.team_requirements, due_at: input.due_at, tags: input.tags, status: 'active',
  }]
  for (const stage of input.template ? projectTemplates[input.template] ?? [] : []) {
    for (const task of stage.tasks) {
      events.push({
        kind: 'task.upserted', project_id: id, task_id: `${id}:${task.key}`, name: task.name, status: 'todo',
        estimated_hours: task.hours, labels: [`${STAGE_LABEL}${stage.id}`, task.capability],
        depends_on: (task.dependsOn ?? []).map(k => `${id}:${k}`),
      })
    }
  }
  const outcome = ingest(events, `api:${createdBy}`, { projects: [id] })
  const rejected = outcome.results.find(r => r.status === 'rejected')
  if (rejected) throw apiError('VALIDATION_FAILED', rejected.error?.message ?? 'invalid project', { details: rejected.error?.details })
  return getProject(id, null)
}

export function updateFeatures(projectId: string, features: Record<string, unknown>, scope: Scope, by: string) {
  projectRow(projectId, scope)
  ingest([{ kind: 'project.features.updated', project_id: projectId, features }], `api:${by}`)
  return getProject(projectId, scope)
}

// ---------------------------------------------------------------------------------------
// Quality gates

type Measured = { coverage?: number, complexity?: number, security_issues?: number }

/**
 * Gates are evaluated against the latest `quality.measured` generic event of the project
 * (`data: {coverage, complexity, security_issues}`): passed, failed, or no_data.
 */
export function evaluateQualityGates(projectId: string, features: Record<string, unknown>) {
  const gates = (features.code_quality_gates ?? {}) as { coverage_threshold?: number, complexity_limit?: number, security_scan?: boolean }
  const latest = useDatabase().sqlite.prepare(`SELECT json_extract(payload, '$.data') AS data, ts FROM events
    WHERE project_id = ? AND kind = 'generic' AND json_extract(payload, '$.type') = 'quality.measured' ORDER BY seq DESC LIMIT 1`).get(projectId) as { data: string | null, ts: number } | undefined
  const m: Measured = latest?.data ? JSON.parse(latest.data) as Measured : {}
  const out: { gate: string, threshold: number | boolean, measured: number | null, status: 'passed' | 'failed' | 'no_data' }[] = []
  if (gates.coverage_threshold !== undefined) {
    const v = typeof m.coverage === 'number' ? m.coverage : null
    out.push({ gate: 'coverage', threshold: gates.coverage_threshold, measured: v, status: v === null ? 'no_data' : v >= gates.coverage_threshold ? 'passed' : 'failed' })
  }
  if (gates.complexity_limit !== undefined) {
    const v = typeof m.complexity === 'number' ? m.complexity : null
    out.push({ gate: 'complexity', threshold: gates.complexity_limit, measured: v, status: v === null ? 'no_data' : v <= gates.complexity_limit ? 'passed' : 'failed' })
  }
  if (gates.security_scan) {
    const v = typeof m.security_issues === 'number' ? m.security_issues : null
    out.push({ gate: 'security_scan', threshold: true, measured: v, status: v === null ? 'no_data' : v === 0 ? 'passed' : 'failed' })
  }
  return { gates: out, measured_at: iso(latest?.ts) }
}

// ---------------------------------------------------------------------------------------
// Workflow: stages, dependencies, critical path

export type Node = { id: string, stage: string, remaining: number, status: string }

/**
 * Longest path through the dependency DAG, weighted by each open task's remaining estimate
 * (estimate × (1 − progress); done tasks weigh 0). Tasks in a dependency cycle are left out
 * and reported. Returns the chain of task ids, first to last, and its hours.
 */
export function criticalPath(nodes: Node[], edges: { from: string, to: string }[]) {
  const byId = new Map(nodes.map(n => [n.id, n]))
  const indegree = new Map(nodes.map(n => [n.id, 0]))
  const next = new Map<string, string[]>()
  for (const e of edges) {
    if (!byId.has(e.from) || !byId.has(e.to)) continue
    const list = next.get(e.from)
    if (list) list.push(e.to)
    else next.set(e.from, [e.to])
    indegree.set(e.to, (indegree.get(e.to) ?? 0) + 1)
  }
  const queue = nodes.filter(n => indegree.get(n.id) === 0).map(n => n.id).sort()
  const best = new Map<string, { hours: number, prev: string | null }>()
  for (const id of queue) best.set(id, { hours: byId.get(id)!.remaining, prev: null })
  const order: string[] = []
  // An index instead of shift() and a Set instead of includes(): linear in the graph's size (impact analysis runs this on whole projects).
  for (let head = 0; head < queue.length; head++) {
    const id = queue[head]!
    order.push(id)
    for (const to of next.get(id) ?? []) {
      const candidate = best.get(id)!.hours + byId.get(to)!.remaining
      const current = best.get(to)
      if (!current || candidate > current.hours) best.set(to, { hours: candidate, prev: id })
      indegree.set(to, indegree.get(to)! - 1)
      if (indegree.get(to) === 0) queue.push(to)
    }
  }
  const ordered = new Set(order)
  const cyclic = nodes.filter(n => !ordered.has(n.id)).map(n => n.id)
  let end: string | null = null
  for (const id of order) if (end === null || best.get(id)!.hours > best.get(end)!.hours) end = id
  const path: string[] = []
  for (let at = end; at !== null; at = best.get(at)!.prev) path.unshift(at)
  return { tasks: path, hours: end === null ? 0 : round(best.get(end)!.hours, 2), cyclic }
}

/** Stage of a task: its `stage:` label, else its depth in the dependency graph (`level-1`, …). */
function stagesOf(tasks: TaskRow[], deps: { task_id: string, depends_on: string }[]): Map<string, string> {
  const out = new Map<string, string>()
  for (const t of tasks) {
    const label = json<string[]>(t.labels, []).find(l => l.startsWith(STAGE_LABEL))
    if (label) out.set(t.id, label.slice(STAGE_LABEL.length))
  }
  if (out.size === tasks.length) return out
  const parents = new Map<string, string[]>()
  for (const d of deps) parents.set(d.task_id, [...(parents.get(d.task_id) ?? []), d.depends_on])
  const depth = new Map<string, number>()
  const known = new Set(tasks.map(t => t.id))
  const visit = (id: string, seen: Set<string>): number => {
    if (depth.has(id)) return depth.get(id)!
    if (seen.has(id)) return 1
    seen.add(id)
    const d = 1 + Math.max(0, ...(parents.get(id) ?? []).filter(p => known.has(p)).map(p => visit(p, seen)))
    depth.set(id, d)
    return d
  }
  for (const t of tasks) if (!out.has(t.id)) out.set(t.id, `level-${visit(t.id, new Set())}`)
  return out
}

export function projectWorkflow(projectId: string, scope: Scope) {
  const project = projectRow(projectId, scope)
  const tasks = projectTasks(projectId)
  const deps = dependencies(projectId)
  const stageOf = stagesOf(tasks, deps)
  const templateOrder = (project.template ? projectTemplates[project.template] ?? [] : []).map(s => s.id)
  const templateNames = new Map((project.template ? projectTemplates[project.template] ?? [] : []).map(s => [s.id, s.name]))
  const fallback = meanEstimate(tasks)
  const now = Date.now()

  const stageIds = [...new Set(stageOf.values())].sort((a, b) => {
    const ia = templateOrder.indexOf(a)
    const ib = templateOrder.indexOf(b)
    if (ia !== -1 || ib !== -1) return (ia === -1 ? 1e9 : ia) - (ib === -1 ? 1e9 : ib)
    return a.localeCompare(b, undefined, { numeric: true })
  })
  const stages = stageIds.map((id) => {
    const members = tasks.filter(t => stageOf.get(t.id) === id)
    const done = members.filter(t => t.status === 'done').length
    const estimated = members.reduce((s, t) => s + (t.estimated_hours ?? fallback), 0)
    const progress = estimated ? members.reduce((s, t) => s + (t.estimated_hours ?? fallback) * (t.status === 'done' ? 1 : t.progress), 0) / estimated : 0
    const started = members.filter(t => t.started_at !== null).map(t => t.started_at!)
    const status = done === members.length
      ? 'completed'
      : members.some(t => t.status === 'blocked') && !members.some(t => t.status === 'in_progress')
        ? 'blocked'
        : members.some(t => t.status === 'in_progress' || t.status === 'done' || t.progress > 0) ? 'in_progress' : 'pending'
    const finished = status === 'completed' && started.length ? Math.max(...members.map(t => t.completed_at ?? 0)) : null
    return {
      id,
      name: templateNames.get(id) ?? (id.startsWith('level-') ? `Level ${id.slice(6)}` : id),
      status,
      tasks: members.length,
      completed_tasks: done,
      progress: round(progress, 4),
      estimated_hours: round(estimated, 2),
      /** Hours from the first start to the last completion, for finished stages. */
      duration: finished !== null ? round((finished - Math.min(...started)) / HOUR, 2) : null,
      task_ids: members.map(t => t.id),
    }
  })

  const stageEdges = new Map<string, { from: string, to: string, type: 'finish_to_start' }>()
  for (const d of deps) {
    const from = stageOf.get(d.depends_on)
    const to = stageOf.get(d.task_id)
    if (from && to && from !== to) stageEdges.set(`${from}>${to}`, { from, to, type: 'finish_to_start' })
  }

  const nodes: Node[] = tasks.map(t => ({
    id: t.id, stage: stageOf.get(t.id)!, status: t.status,
    remaining: t.status === 'done' || t.status === 'cancelled' ? 0 : (t.estimated_hours ?? fallback) * (1 - t.progress),
  }))
  const path = criticalPath(nodes, deps.map(d => ({ from: d.depends_on, to: d.task_id })))
  const criticalStages = [...new Set(path.tasks.map(id => stageOf.get(id)!))]
  const velocity = measureVelocity(tasks, now)
  const remaining = remainingHours(tasks)
  const open = tasks.some(t => t.status !== 'done' && t.status !== 'cancelled')
  // The later of two bounds: the critical chain worked at the measured pace (actual ÷ estimate),
  // and all remaining work at the measured throughput.
  let estimatedCompletion: string | null = null
  if (!open) estimatedCompletion = iso(Math.max(0, ...tasks.map(t => t.completed_at ?? 0)) || null)
  else if (velocity.estimated_hours_per_hour) {
    const chain = path.hours * (velocity.estimate_ratio ?? 1)
    const throughput = remaining / velocity.estimated_hours_per_hour
    estimatedCompletion = iso(now + Math.max(chain, throughput) * HOUR)
  }
  return {
    workflow_id: `workflow_${projectId}`,
    project_id: projectId,
    stages,
    dependencies: [...stageEdges.values()],
    critical_path: criticalStages,
    critical_path_tasks: path.tasks,
    critical_path_hours: path.hours,
    cyclic_tasks: path.cyclic,
    remaining_hours: round(remaining, 2),
    velocity,
    estimated_completion: estimatedCompletion,
  }
}
