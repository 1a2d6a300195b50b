import { insightAgentParams, memoryHistoryQuery } from '../../../../../shared/insights'
import { agentHistory } from '../../../../utils/memory'

/** GET /api/memory/agents/{id}/history: the agent's task history, newest first. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightAgentParams)
  const query = validQuery(event, memoryHistoryQuery)
  return agentHistory(id, query, scopeFor(event, query.project_id))
})
