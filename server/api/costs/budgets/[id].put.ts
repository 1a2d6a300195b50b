import { budgetIdParams, budgetUpdateBody } from '../../../../shared/costs'
import { updateBudget } from '../../../utils/costs-budgets'

/** PUT /api/costs/budgets/{id}: change a budget (the fields given); new thresholds are checked at once. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, budgetIdParams)
  const body = validated(budgetUpdateBody, await readJsonBody(event, 16 * 1024), 'body')
  const budget = updateBudget(principal, id, body, scopeFor(event))
  event.context.audit = { action: 'costs.budget.update', projectId: budget.project_id, target: id }
  return budget
})
