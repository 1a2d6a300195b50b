import { costListQuery } from '../../../../shared/costs'
import { costAgents } from '../../../utils/costs'

/** GET /api/costs/agents: spend per agent in the period, costliest first. */
export default defineEventHandler((event) => {
  const query = validQuery(event, costListQuery)
  return costAgents(query, scopeFor(event, query.project_id))
})
