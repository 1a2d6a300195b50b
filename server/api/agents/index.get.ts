import { agentListQuery } from '../../../shared/records'

export default defineEventHandler((event) => {
  const filters = validQuery(event, agentListQuery)
  return listAgents(filters, scopeFor(event, filters.project_id))
})
