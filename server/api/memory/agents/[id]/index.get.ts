import { insightAgentParams, memoryAgentsQuery } from '../../../../../shared/insights'
import { agentProfile } from '../../../../utils/memory'

/** GET /api/memory/agents/{id}: the agent's profile. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightAgentParams)
  const query = validQuery(event, memoryAgentsQuery)
  return agentProfile(id, query, scopeFor(event, query.project_id))
})
