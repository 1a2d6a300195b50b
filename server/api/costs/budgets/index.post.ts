import { budgetBody } from '../../../../shared/costs'
import { createBudget } from '../../../utils/costs-budgets'

/** POST /api/costs/budgets: a budget for a project, an agent or a model; checked at once against the period's spend. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const body = validated(budgetBody, await readJsonBody(event, 16 * 1024), 'body')
  const budget = createBudget(principal, body)
  event.context.audit = { action: 'costs.budget.create', projectId: body.project_id, target: budget.id }
  setResponseStatus(event, 201)
  return budget
})
