import { memoryAgentsQuery } from '../../../../shared/insights'
import { listAgentMemory } from '../../../utils/memory'

/** GET /api/memory/agents: a work summary per agent (tasks, outcomes, estimation accuracy). */
export default defineEventHandler((event) => {
  const query = validQuery(event, memoryAgentsQuery)
  return listAgentMemory(query, scopeFor(event, query.project_id))
})
