/**
 * Read side of the facts the projections keep: tasks, blockers, decisions, and the event
 * log itself. Filters go into the SQL `WHERE`; every list is paged and says its total.
 */
import { and, asc, count, desc, eq, gt, inArray, type SQL, sql } from 'drizzle-orm'
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { alerts, blockers, decisions, events, taskDependencies, taskHistory, tasks } from '../../drizzle/schema'
import { inScope, type Scope } from './access'
import { useDatabase } from './db'
import { apiError } from './errors'
import { iso } from './ids'

type Page = { limit: number, offset: number }

/** `column = value` for each filter that is set, within the caller's projects. */
function where(scoped: [SQLiteColumn, Scope], filters: [SQLiteColumn, string | undefined][], extra: (SQL | undefined)[] = []): SQL | undefined {
  const [projectColumn, scope] = scoped
  return and(
    scope === null ? undefined : inArray(projectColumn, scope),
    ...filters.filter(([, v]) => v !== undefined).map(([c, v]) => eq(c, v!)),
    ...extra,
  )
}

function pageOf<T extends SQLiteTable>(table: T, condition: SQL | undefined) {
  const { db } = useDatabase()
  return db.select({ n: count() }).from(table as SQLiteTable).where(condition).get()?.n ?? 0
}

export type TaskFilters = Page & { project_id?: string, status?: string, agent_id?: string }

export function listTasks(f: TaskFilters, scope: Scope = null) {
  const { db } = useDatabase()
  const condition = where([tasks.projectId, scope], [[tasks.projectId, f.project_id], [tasks.status, f.status], [tasks.assignedAgentId, f.agent_id]])
  const rows = db.select().from(tasks).where(condition).orderBy(desc(tasks.updatedAt), asc(tasks.id)).limit(f.limit).offset(f.offset).all()
  const deps = dependenciesOf(rows.map(r => r.id))
  const total = pageOf(tasks, condition)
  return { tasks: rows.map(r => taskView(r, deps.get(r.id) ?? [])), total, has_more: f.offset + rows.length < total }
}

export function getTask(id: string, scope: Scope = null) {
  const { db } = useDatabase()
  const row = db.select().from(tasks).where(eq(tasks.id, id)).get()
  if (!row || !inScope(scope, row.projectId)) throw apiError('TASK_NOT_FOUND', `Task '${id}' does not exist`, { task_id: id })
  const dependents = db.select({ id: taskDependencies.taskId }).from(taskDependencies).where(eq(taskDependencies.dependsOn, id)).all().map(r => r.id)
  const history = db.select().from(taskHistory).where(eq(taskHistory.taskId, id)).orderBy(asc(taskHistory.ts), asc(taskHistory.seq)).all()
  const taskBlockers = db.select().from(blockers).where(eq(blockers.taskId, id)).orderBy(asc(blockers.reportedAt)).all()
  return {
    ...taskView(row, dependenciesOf([id]).get(id) ?? []),
    dependents,
    history: history.map(h => ({ action: h.action, agent_id: h.agentId, status: h.status, progress: h.progress, note: h.note, timestamp: iso(h.ts) })),
    blockers: taskBlockers.map(blockerView),
  }
}

function dependenciesOf(ids: string[]) {
  const map = new Map<string, string[]>()
  if (!ids.length) return map
  const { db } = useDatabase()
  for (const d of db.select().from(taskDependencies).where(inArray(taskDependencies.taskId, ids)).all()) {
    map.set(d.taskId, [...(map.get(d.taskId) ?? []), d.dependsOn])
  }
  return map
}

function taskView(r: typeof tasks.$inferSelect, dependsOn: string[]) {
  return {
    id: r.id, project_id: r.projectId, name: r.name, description: r.description, status: r.status, priority: r.priority,
    assigned_agent_id: r.assignedAgentId, progress: r.progress, estimated_hours: r.estimatedHours, labels: r.labels,
    depends_on: dependsOn, created_at: iso(r.createdAt), started_at: iso(r.startedAt), completed_at: iso(r.completedAt),
    due_at: iso(r.dueAt), updated_at: iso(r.updatedAt),
  }
}

export type BlockerFilters = Page & { project_id?: string, status?: string, severity?: string, agent_id?: string, task_id?: string }

export function listBlockers(f: BlockerFilters, scope: Scope = null) {
  const { db } = useDatabase()
  const condition = where([blockers.projectId, scope], [[blockers.projectId, f.project_id], [blockers.status, f.status], [blockers.severity, f.severity],
    [blockers.agentId, f.agent_id], [blockers.taskId, f.task_id]])
  const rows = db.select().from(blockers).where(condition).orderBy(desc(blockers.reportedAt), asc(blockers.id)).limit(f.limit).offset(f.offset).all()
  const total = pageOf(blockers, condition)
  return { blockers: rows.map(blockerView), total, has_more: f.offset + rows.length < total }
}

function blockerView(b: typeof blockers.$inferSelect) {
  return {
    id: b.id, project_id: b.projectId, task_id: b.taskId, agent_id: b.agentId, severity: b.severity, description: b.description,
    suggested_solutions: b.suggestedSolutions ?? [], status: b.status, reported_at: iso(b.reportedAt), resolved_at: iso(b.resolvedAt),
    resolution: b.resolution,
  }
}

export type DecisionFilters = Page & { project_id?: string, agent_id?: string, task_id?: string }

export function listDecisions(f: DecisionFilters, scope: Scope = null) {
  const { db } = useDatabase()
  const condition = where([decisions.projectId, scope], [[decisions.projectId, f.project_id], [decisions.agentId, f.agent_id], [decisions.taskId, f.task_id]])
  const rows = db.select().from(decisions).where(condition).orderBy(desc(decisions.ts), asc(decisions.id)).limit(f.limit).offset(f.offset).all()
  const total = pageOf(decisions, condition)
  return {
    decisions: rows.map(d => ({
      id: d.id, project_id: d.projectId, agent_id: d.agentId, task_id: d.taskId, decision: d.decision, rationale: d.rationale,
      alternatives: d.alternatives ?? [], confidence: d.confidence, factors: d.factors ?? {}, timestamp: iso(d.ts),
    })),
    total,
    has_more: f.offset + rows.length < total,
  }
}

export type EventFilters = { limit: number, since_seq: number, kind?: string, type?: string, source?: string, project_id?: string }

/** The ordered event log, oldest first from `since_seq` (exclusive). */
export function listEvents(f: EventFilters, scope: Scope = null) {
  const { db } = useDatabase()
  const condition = where([events.projectId, scope], [[events.kind, f.kind], [events.source, f.source], [events.projectId, f.project_id]], [
    gt(events.seq, f.since_seq),
    f.type === undefined ? undefined : sql`json_extract(${events.payload}, '$.type') = ${f.type}`,
  ])
  const rows = db.select().from(events).where(condition).orderBy(asc(events.seq)).limit(f.limit + 1).all()
  const hasMore = rows.length > f.limit
  const page = hasMore ? rows.slice(0, f.limit) : rows
  return {
    events: page.map(e => ({
      seq: e.seq, id: e.id, kind: e.kind, project_id: e.projectId, ts: iso(e.ts), received_at: iso(e.receivedAt), source: e.source, payload: e.payload,
    })),
    next_seq: page.length ? page[page.length - 1]!.seq : f.since_seq,
    has_more: hasMore,
  }
}

/** How many events of each kind (and generic events of each source type) are stored. */
export function eventStats(projectId: string | undefined, scope: Scope = null) {
  const { sqlite } = useDatabase()
  const projects = projectId === undefined ? scope : [projectId]
  const filter = projects === null ? '1' : 'project_id IN (SELECT value FROM json_each(@projects))'
  const args = projects === null ? {} : { projects: JSON.stringify(projects) }
  const byKind = sqlite.prepare(`SELECT kind, count(*) AS n FROM events WHERE ${filter} GROUP BY kind ORDER BY kind`).all(args) as { kind: string, n: number }[]
  const byType = sqlite.prepare(`SELECT json_extract(payload, '$.type') AS type, count(*) AS n FROM events
    WHERE kind = 'generic' AND ${filter} GROUP BY 1 ORDER BY 1`).all(args) as { type: string, n: number }[]
  const last = sqlite.prepare(`SELECT max(seq) AS seq FROM events WHERE ${filter}`).get(args) as { seq: number | null }
  return {
    total: byKind.reduce((s, r) => s + r.n, 0),
    last_seq: last.seq ?? 0,
    by_kind: Object.fromEntries(byKind.map(r => [r.kind, r.n])),
    generic_by_type: Object.fromEntries(byType.map(r => [r.type, r.n])),
  }
}

export type AlertFilters = { limit: number, project_id?: string, severity?: string, type?: string, subject_id?: string, since?: number }

export function listAlerts(f: AlertFilters, scope: Scope = null) {
  const { db } = useDatabase()
  const condition = where([alerts.projectId, scope], [[alerts.projectId, f.project_id], [alerts.severity, f.severity], [alerts.type, f.type], [alerts.subjectId, f.subject_id]],
    [f.since === undefined ? undefined : gt(alerts.ts, f.since)])
  const rows = db.select().from(alerts).where(condition).orderBy(desc(alerts.ts), asc(alerts.id)).limit(f.limit).all()
  return {
    alerts: rows.map(a => ({
      id: a.id, project_id: a.projectId, severity: a.severity, type: a.type, message: a.message, subject_id: a.subjectId,
      details: a.details ?? {}, timestamp: iso(a.ts), acknowledged_at: iso(a.acknowledgedAt),
    })),
    total: pageOf(alerts, condition),
  }
}
