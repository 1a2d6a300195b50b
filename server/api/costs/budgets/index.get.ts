import { budgetListQuery } from '../../../../shared/costs'
import { listBudgets } from '../../../utils/costs-budgets'

/** GET /api/costs/budgets: budgets with their spend, state and forecast, within the caller's projects. */
export default defineEventHandler((event) => {
  const query = validQuery(event, budgetListQuery)
  return listBudgets(query.project_id, scopeFor(event, query.project_id), query.as_of ?? Date.now(), query.burn_window_hours)
})
