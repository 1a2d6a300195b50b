import { blockerInsightsQuery } from '../../../shared/insights'
import { blockerInsights } from '../../utils/memory'

/** GET /api/memory/blockers: blockers grouped by description, with the delay they caused and whom they hit. */
export default defineEventHandler((event) => {
  const query = validQuery(event, blockerInsightsQuery)
  return blockerInsights(query, scopeFor(event, query.project_id))
})
