import { eventStatsQuery } from '../../../shared/records'

export default defineEventHandler((event) => {
  const { project_id } = validQuery(event, eventStatsQuery)
  return eventStats(project_id, scopeFor(event, project_id))
})
