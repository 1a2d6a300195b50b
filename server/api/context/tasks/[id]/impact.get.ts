import { impactQuery, insightTaskParams } from '../../../../../shared/insights'
import { taskImpact } from '../../../../utils/context'

/** GET /api/context/tasks/{id}/impact: what a delay or a failure of the task does to other tasks, agents and the critical path. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightTaskParams)
  const query = validQuery(event, impactQuery)
  return taskImpact(id, query, scopeFor(event))
})
