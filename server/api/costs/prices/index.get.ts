import { priceListQuery } from '../../../../shared/costs'
import { listPrices } from '../../../utils/costs-admin'

/** GET /api/costs/prices: the model price table (shipped, custom, and the project's overrides). */
export default defineEventHandler((event) => {
  const query = validQuery(event, priceListQuery)
  return listPrices(query, scopeFor(event, query.project_id))
})
