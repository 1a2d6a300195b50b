import { costSummaryQuery } from '../../../shared/costs'
import { costSummary } from '../../utils/costs'

/** GET /api/costs/summary: totals, breakdowns, burn rate and projection for the period, within the caller's projects. */
export default defineEventHandler((event) => {
  const query = validQuery(event, costSummaryQuery)
  return costSummary(query, scopeFor(event, query.project_id))
})
