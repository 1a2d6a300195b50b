import { priceResolveQuery } from '../../../../shared/costs'
import { resolvePrice } from '../../../utils/costs-admin'

/** GET /api/costs/prices/resolve: which price applies to a model (and why). */
export default defineEventHandler((event) => {
  const query = validQuery(event, priceResolveQuery)
  if (query.project_id !== undefined) assertProjectAccess(event, query.project_id)
  return resolvePrice(query)
})
