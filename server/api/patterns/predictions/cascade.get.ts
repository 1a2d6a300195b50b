import { cascadeQuery } from '../../../../shared/insights'
import { predictCascade } from '../../../utils/patterns'

/** GET /api/patterns/predictions/cascade: which tasks and agents a delay of a task reaches, and by how much. */
export default defineEventHandler((event) => {
  const { task_id, delay_hours } = validQuery(event, cascadeQuery)
  return predictCascade(task_id, delay_hours, scopeFor(event))
})
