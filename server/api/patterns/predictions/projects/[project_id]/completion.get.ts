import { completionQuery, insightProjectParams } from '../../../../../../shared/insights'
import { predictCompletion } from '../../../../../utils/patterns'

/** GET /api/patterns/predictions/projects/{project_id}/completion: when the project will be done, with an interval. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, insightProjectParams)
  const query = validQuery(event, completionQuery)
  return predictCompletion(project_id, query, scopeFor(event))
})
