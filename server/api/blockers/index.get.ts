import { blockerListQuery } from '../../../shared/records'

export default defineEventHandler((event) => {
  const query = validQuery(event, blockerListQuery)
  return listBlockers(query, scopeFor(event, query.project_id))
})
