import { costTimeseriesQuery } from '../../../shared/costs'
import { costTimeseries } from '../../utils/costs'

/** GET /api/costs/timeseries: spend per hour, day, week or month, optionally per project, agent or model. */
export default defineEventHandler((event) => {
  const query = validQuery(event, costTimeseriesQuery)
  return costTimeseries(query, scopeFor(event, query.project_id))
})
