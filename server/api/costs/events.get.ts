import { costEventListQuery } from '../../../shared/costs'
import { listCostEvents } from '../../utils/costs'

/** GET /api/costs/events: the priced usage rows behind the figures, newest first. */
export default defineEventHandler((event) => {
  const query = validQuery(event, costEventListQuery)
  return listCostEvents(query, scopeFor(event, query.project_id))
})
