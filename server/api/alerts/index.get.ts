import { alertListQuery } from '../../../shared/agents'

/** GET /api/alerts: newest first, within the caller's projects. */
export default defineEventHandler((event) => {
  const query = validQuery(event, alertListQuery)
  return listAlerts(query, scopeFor(event, query.project_id))
})
