import { decisionListQuery } from '../../../shared/records'

export default defineEventHandler((event) => {
  const query = validQuery(event, decisionListQuery)
  return listDecisions(query, scopeFor(event, query.project_id))
})
