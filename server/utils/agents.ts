/**
 * Agents as long-lived things: the list in the seed's shape, with performance computed from
 * stored tasks and each agent's message totals (`agent_message_totals`, kept by triggers from
 * the hourly rollups), so a list costs a few key lookups per agent however long they ran.
 */
import { inScope, type Scope } from './access'
import { cachedRead } from './cache'
import { prepared, useDatabase } from './db'
import { apiError } from './errors'
import { iso } from './ids'
import { round } from './values'

/** The agent's project, or undefined for an unknown agent. */
export function agentProjectOf(id: string): string | undefined {
  return (prepared(useDatabase().sqlite, 'SELECT project_id FROM agents WHERE id = ?').get(id) as { project_id: string } | undefined)?.project_id
}

/** The agent's stored status (what a heartbeat answers), or undefined for an unknown agent. */
export function agentStatusOf(id: string): string | undefined {
  return (prepared(useDatabase().sqlite, 'SELECT status FROM agents WHERE id = ?').get(id) as { status: string } | undefined)?.status
}

type AgentListRow = {
  id: string
  project_id: string
  name: string
  type: string | null
  capabilities: string
  status: string
  status_reason: string | null
  current_task_id: string | null
  last_heartbeat_at: number | null
  last_active_at: number
  registered_at: number
  tasks_completed: number
  tasks_failed: number
  error_count: number
  kind: string
  metadata: string | null
  responses: number | null
  response_ms_sum: number | null
}

export function listAgents(filters: { project_id?: string, status?: string }, scope: Scope = null) {
  const { sqlite } = useDatabase()
  const rows = prepared(sqlite, `
    SELECT a.*,
      (SELECT sum(t.responses) FROM agent_message_totals t WHERE t.agent_id = a.id) AS responses,
      (SELECT sum(t.response_ms_sum) FROM agent_message_totals t WHERE t.agent_id = a.id) AS response_ms_sum
    FROM agents a
    WHERE (@project IS NULL OR a.project_id = @project) AND (@status IS NULL OR a.status = @status)
      AND (@scope IS NULL OR a.project_id IN (SELECT value FROM json_each(@scope)))
    ORDER BY a.name, a.id`).all({ project: filters.project_id ?? null, status: filters.status ?? null, scope: scope === null ? null : JSON.stringify(scope) }) as AgentListRow[]
  return { agents: rows.map(agentView), total: rows.length }
}

function agentView(a: AgentListRow) {
  const metadata = a.metadata ? JSON.parse(a.metadata) as { load?: number } : {}
  const finished = a.tasks_completed + a.tasks_failed
  return {
    id: a.id,
    name: a.name,
    type: a.type,
    project_id: a.project_id,
    status: a.status,
    status_reason: a.status_reason,
    current_task: a.current_task_id,
    performance: {
      tasks_completed: a.tasks_completed,
      /** Seconds, over the request→response pairs of the agent's conversations. */
      avg_response_time: a.responses ? a.response_ms_sum! / a.responses / 1000 : null,
      success_rate: finished ? a.tasks_completed / finished : null,
      last_active: iso(a.last_active_at),
    },
    capabilities: JSON.parse(a.capabilities) as string[],
    /** Reported by heartbeats; otherwise 1 while the agent holds a task, 0 when it holds none. */
    load: typeof metadata.load === 'number' ? metadata.load : a.current_task_id ? 1 : 0,
    last_heartbeat: iso(a.last_heartbeat_at),
    registered_at: iso(a.registered_at),
    error_count: a.error_count,
  }
}

// ---------------------------------------------------------------------------------------
// One agent's status

type StatusRow = AgentListRow & { paused: number }
type TaskRow = { id: string, name: string, status: string, progress: number, estimated_hours: number | null, started_at: number | null }

function agentRow(id: string, scope: Scope): StatusRow {
  const row = prepared(useDatabase().sqlite, 'SELECT * FROM agents WHERE id = ?').get(id) as StatusRow | undefined
  if (!row || !inScope(scope, row.project_id)) throw apiError('AGENT_NOT_FOUND', `Agent with ID '${id}' does not exist`, { agent_id: id })
  return row
}

/** Seconds left of a task from its pace so far (elapsed ÷ progress), or from its estimate. */
function remainingSeconds(task: TaskRow, now: number): number | null {
  if (task.started_at !== null && task.progress > 0 && task.progress < 1) {
    return ((now - task.started_at) / task.progress) * (1 - task.progress) / 1000
  }
  return task.estimated_hours === null ? null : task.estimated_hours * 3600 * (1 - task.progress)
}

/** GET /api/agents/{id}/status: the seed's shape, every figure from stored facts. */
export function getAgentStatus(id: string, scope: Scope) {
  const { sqlite } = useDatabase()
  const agent = agentRow(id, scope)
  const now = Date.now()
  const current = agent.current_task_id
    ? prepared(sqlite, 'SELECT id, name, status, progress, estimated_hours, started_at FROM tasks WHERE id = ?').get(agent.current_task_id) as TaskRow | undefined
    : undefined
  const queued = prepared(sqlite, `SELECT id, name, status, progress, estimated_hours, started_at FROM tasks
    WHERE assigned_agent_id = ? AND status = 'todo' ORDER BY created_at`).all(id) as TaskRow[]
  const currentLeft = current ? remainingSeconds(current, now) : 0
  const queueSeconds = queued.reduce((s, t) => s + (remainingSeconds(t, now) ?? 0), 0)
  const metadata = agent.metadata ? JSON.parse(agent.metadata) as { load?: number, metrics?: Record<string, unknown> } : {}
  const metrics = metadata.metrics ?? {}
  const num = (v: unknown) => (typeof v === 'number' ? v : null)
  const warnings: string[] = []
  if (agent.status_reason && (agent.status === 'degraded' || agent.status === 'unavailable')) warnings.push(agent.status_reason)
  const pendingCommands = (prepared(sqlite, `SELECT count(*) AS n FROM agent_commands WHERE agent_id = ? AND status IN ('pending', 'delivered')`).get(id) as { n: number }).n
  return {
    agent_id: agent.id,
    name: agent.name,
    project_id: agent.project_id,
    status: agent.status,
    status_reason: agent.status_reason,
    paused: agent.paused === 1,
    current_task: current
      ? {
          id: current.id, description: current.name, status: current.status, started_at: iso(current.started_at), progress: current.progress,
          estimated_completion: currentLeft === null ? null : iso(now + currentLeft * 1000),
        }
      : null,
    queue: {
      pending_tasks: queued.length,
      task_ids: queued.map(t => t.id),
      /** Seconds until the queued work could start: what is left of the current task. */
      estimated_wait_time: currentLeft === null ? null : Math.round(currentLeft),
      /** Seconds of all queued work after that. */
      queued_work_seconds: Math.round(queueSeconds),
      pending_commands: pendingCommands,
    },
    resources: {
      cpu_usage: num(metrics.cpu_usage),
      memory_usage: num(metrics.memory_usage),
      active_connections: num(metrics.active_connections),
      load: typeof metadata.load === 'number' ? metadata.load : agent.current_task_id ? 1 : 0,
    },
    health: {
      status: agent.status === 'unavailable' ? 'unhealthy' : agent.status === 'degraded' ? 'degraded' : 'healthy',
      last_heartbeat: iso(agent.last_heartbeat_at),
      last_active: iso(agent.last_active_at),
      error_count: agent.error_count,
      warnings,
    },
  }
}

// ---------------------------------------------------------------------------------------
// Analytics across agents

const HOUR = 3_600_000

/**
 * GET /api/agents/analytics. Throughput is tasks completed per hour: `current` over the last
 * hour, `peak` the busiest clock hour on record. Load per agent is its open tasks (current
 * and queued); distribution is `balanced` when the busiest agent holds at most one task more
 * than the least busy, `uneven` otherwise, `idle` when nobody holds any. An agent is
 * overloaded with more than twice the mean open tasks (and at least 3), and a bottleneck when
 * overloaded, degraded or unavailable with open tasks.
 */
export function agentAnalytics(projectId: string | undefined, scope: Scope) {
  // Figures over "the last hour" move with the clock, not only with writes: an answer is
  // kept for the rest of its short window, and the window is part of the key.
  const now = Date.now()
  const window = Math.floor(now / AGENT_ANALYTICS_WINDOW_MS)
  return cachedRead({
    name: 'agent_analytics',
    key: [projectId ?? null, scope, window],
    projects: projectId !== undefined ? [projectId] : scope,
    compute: () => ({ value: computeAgentAnalytics(projectId, scope, now), maxAgeSeconds: ((window + 1) * AGENT_ANALYTICS_WINDOW_MS - now) / 1000 }),
  })
}

/** How long an agent analytics answer may be served without a write: its time window. */
export const AGENT_ANALYTICS_WINDOW_MS = 5000

function computeAgentAnalytics(projectId: string | undefined, scope: Scope, now: number) {
  const { sqlite } = useDatabase()
  const scopeJson = projectId !== undefined ? JSON.stringify([projectId]) : scope === null ? null : JSON.stringify(scope)
  const inProjects = (col: string) => `(@scope IS NULL OR ${col} IN (SELECT value FROM json_each(@scope)))`
  const agents = prepared(sqlite, `SELECT a.id, a.status, a.tasks_completed, a.error_count,
      (SELECT count(*) FROM tasks t WHERE t.assigned_agent_id = a.id AND t.status IN ('todo', 'in_progress')) AS open_tasks
    FROM agents a WHERE a.kind = 'agent' AND ${inProjects('a.project_id')}`).all({ scope: scopeJson }) as { id: string, status: string, tasks_completed: number, error_count: number, open_tasks: number }[]
  const response = prepared(sqlite, `SELECT sum(responses) AS n, sum(response_ms_sum) AS ms FROM agent_message_totals r
    WHERE r.agent_id IN (SELECT id FROM agents WHERE kind = 'agent') AND ${inProjects('r.project_id')}`).get({ scope: scopeJson }) as { n: number | null, ms: number | null }
  const hourly = prepared(sqlite, `SELECT completed_at / ${HOUR} AS hour, count(*) AS n FROM tasks
    WHERE status = 'done' AND completed_at IS NOT NULL AND ${inProjects('project_id')} GROUP BY 1`).all({ scope: scopeJson }) as { hour: number, n: number }[]
  const current = (prepared(sqlite, `SELECT count(*) AS n FROM tasks WHERE status = 'done' AND completed_at > @since AND ${inProjects('project_id')}`)
    .get({ scope: scopeJson, since: now - HOUR }) as { n: number }).n

  const loads = agents.map(a => a.open_tasks)
  const mean = loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : 0
  const overloaded = agents.filter(a => a.open_tasks >= 3 && a.open_tasks > 2 * mean)
  const bottlenecks = agents.flatMap((a) => {
    if (overloaded.includes(a)) return [{ agent_id: a.id, reason: `${a.open_tasks} open tasks, over twice the mean of ${round(mean, 2)}` }]
    if ((a.status === 'degraded' || a.status === 'unavailable') && a.open_tasks > 0) return [{ agent_id: a.id, reason: `${a.status} with ${a.open_tasks} open task${a.open_tasks === 1 ? '' : 's'}` }]
    return []
  })
  const working = agents.filter(a => a.status !== 'unavailable' && a.status !== 'paused')
  const maxLoad = Math.max(0, ...loads)
  const minLoad = loads.length ? Math.min(...loads) : 0
  return {
    overview: {
      total_agents: agents.length,
      active_agents: agents.filter(a => a.status === 'busy' || a.status === 'active').length,
      idle_agents: agents.filter(a => a.status === 'idle').length,
      overloaded_agents: overloaded.length,
      degraded_agents: agents.filter(a => a.status === 'degraded').length,
      unavailable_agents: agents.filter(a => a.status === 'unavailable').length,
      paused_agents: agents.filter(a => a.status === 'paused').length,
    },
    performance: {
      /** Seconds, mean over the request→response pairs answered by agents. */
      avg_response_time: response.n ? round(response.ms! / response.n / 1000, 3) : null,
      total_tasks_completed: agents.reduce((s, a) => s + a.tasks_completed, 0),
      /** Tasks completed in the last hour. */
      current_throughput: current,
      /** Most tasks completed in one clock hour. */
      peak_throughput: Math.max(0, ...hourly.map(h => h.n)),
      total_errors: agents.reduce((s, a) => s + a.error_count, 0),
    },
    efficiency: {
      /** Share of working agents holding a task. */
      resource_utilization: working.length ? round(working.filter(a => a.open_tasks > 0).length / working.length, 4) : 0,
      load_distribution: maxLoad === 0 ? 'idle' : maxLoad - minLoad <= 1 ? 'balanced' : 'uneven',
      mean_open_tasks: round(mean, 2),
      bottlenecks,
    },
  }
}

// ---------------------------------------------------------------------------------------
// Commands an agent picks up by polling

type CommandRow = {
  id: string
  agent_id: string
  project_id: string
  command: string
  parameters: string | null
  status: string
  issued_by: string | null
  result: string | null
  created_at: number
  updated_at: number
  expires_at: number | null
}

export function listAgentCommands(agentId: string, status: string | undefined, scope: Scope) {
  agentRow(agentId, scope)
  const rows = prepared(useDatabase().sqlite, `SELECT * FROM agent_commands WHERE agent_id = ? AND (@status IS NULL OR status = @status)
    ORDER BY created_at, id LIMIT 500`).all(agentId, { status: status ?? null }) as CommandRow[]
  return rows.map(r => ({
    command_id: r.id, agent_id: r.agent_id, project_id: r.project_id, command: r.command, parameters: r.parameters ? JSON.parse(r.parameters) : {},
    status: r.status, issued_by: r.issued_by, result: r.result ? JSON.parse(r.result) : null,
    created_at: iso(r.created_at), updated_at: iso(r.updated_at), expires_at: iso(r.expires_at),
  }))
}
