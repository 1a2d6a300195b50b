import { insightTaskParams } from '../../../../../shared/insights'
import { taskContext } from '../../../../utils/context'

/** GET /api/context/tasks/{id}: a task with its dependencies, dependents, decisions, artifacts, blockers and agents. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightTaskParams)
  return taskContext(id, scopeFor(event))
})
