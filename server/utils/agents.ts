/**
 * Agents as long-lived things: the list in the seed's shape, with performance computed from
 * stored tasks and message rollups.
 */
import type { Scope } from './access'
import { iso } from './ids'
import { useDatabase } from './db'

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
  const rows = sqlite.prepare(`
    SELECT a.*, r.responses, r.response_ms_sum FROM agents a
    LEFT JOIN (SELECT agent_id, sum(responses) AS responses, sum(response_ms_sum) AS response_ms_sum
               FROM message_rollups GROUP BY agent_id) r ON r.agent_id = a.id
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
