import { budgetIdParams } from '../../../../shared/costs'
import { deleteBudget } from '../../../utils/costs-budgets'

/** DELETE /api/costs/budgets/{id} */
export default defineEventHandler((event) => {
  const principal = principalOf(event)
  const { id } = validParams(event, budgetIdParams)
  const { projectId, ...deleted } = deleteBudget(principal, id, scopeFor(event))
  event.context.audit = { action: 'costs.budget.delete', projectId, target: id }
  return deleted
})
