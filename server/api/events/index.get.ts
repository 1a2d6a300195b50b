import { eventListQuery } from '../../../shared/records'

/** The ordered event log: page with `since_seq` = the previous page's `next_seq`. */
export default defineEventHandler((event) => {
  const query = validQuery(event, eventListQuery)
  return listEvents(query, scopeFor(event, query.project_id))
})
