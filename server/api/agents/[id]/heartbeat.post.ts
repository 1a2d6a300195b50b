import { agentIdParams, heartbeatBody } from '../../../../shared/agents'
import { agentProjectOf, agentStatusOf } from '../../../utils/agents'

/** POST /api/agents/{id}/heartbeat: the agent is alive (an `agent.heartbeat` event). */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, agentIdParams)
  const body = validated(heartbeatBody, await readJsonBody(event, 16 * 1024), 'body')
  const projects = projectScope(principal)
  const known = agentProjectOf(id)
  const projectId = known ?? (projects?.length === 1 ? projects[0] : undefined)
  if (known && projects && !projects.includes(known)) throw apiError('AGENT_NOT_FOUND', `Agent with ID '${id}' does not exist`, { agent_id: id })
  const outcome = ingest([{ kind: 'agent.heartbeat', agent_id: id, project_id: projectId, ...body }], `api:${principal.id}`, { projects })
  const result = outcome.results[0]!
  if (result.status === 'rejected') throw apiError(result.error?.code === 'FORBIDDEN' ? 'FORBIDDEN' : 'VALIDATION_FAILED', result.error?.message ?? 'heartbeat refused', { result })
  event.context.audit = { action: 'agent.heartbeat', projectId, target: id }
  // The heartbeat's projection created the agent if it was unknown.
  return { agent_id: id, received: true, seq: result.seq ?? null, status: agentStatusOf(id)! }
})
