import { budgetDetailQuery, budgetIdParams } from '../../../../shared/costs'
import { getBudget } from '../../../utils/costs-budgets'

/** GET /api/costs/budgets/{id}: one budget with its spend, state and forecast. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, budgetIdParams)
  const query = validQuery(event, budgetDetailQuery)
  return getBudget(id, scopeFor(event), query.as_of ?? Date.now(), query.burn_window_hours)
})
