import { costListQuery } from '../../../../shared/costs'
import { costProjects } from '../../../utils/costs'

/** GET /api/costs/projects: spend per project in the period, costliest first. */
export default defineEventHandler((event) => {
  const query = validQuery(event, costListQuery)
  return costProjects(query, scopeFor(event, query.project_id))
})
