import { insightTaskParams } from '../../../../../shared/insights'
import { predictTask } from '../../../../utils/patterns'

/** GET /api/patterns/predictions/tasks/{id}: outcome and blockage probability from similar past tasks. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightTaskParams)
  return predictTask(id, scopeFor(event))
})
