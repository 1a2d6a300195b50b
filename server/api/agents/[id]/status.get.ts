import { agentIdParams } from '../../../../shared/agents'

/** GET /api/agents/{id}/status: current task, queue, resources and health. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, agentIdParams)
  return getAgentStatus(id, scopeFor(event))
})
