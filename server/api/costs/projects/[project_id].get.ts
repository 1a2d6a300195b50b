import { costDetailQuery, costProjectParams } from '../../../../shared/costs'
import { costProject } from '../../../utils/costs'
import { listBudgets } from '../../../utils/costs-budgets'

/** GET /api/costs/projects/{project_id}: one project's spend, breakdowns, days and budgets. */
export default defineEventHandler((event) => {
  const { project_id: projectId } = validParams(event, costProjectParams)
  assertProjectAccess(event, projectId)
  const query = validQuery(event, costDetailQuery)
  const answer = costProject(projectId, query)
  const asOf = Date.parse(answer.window.as_of)
  return { ...answer, budgets: listBudgets(projectId, null, asOf, query.burn_window_hours).budgets }
})
