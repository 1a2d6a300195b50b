import { insightAgentParams, learningCurveQuery } from '../../../../../shared/insights'
import { learningCurve } from '../../../../utils/memory'

/** GET /api/memory/agents/{id}/learning-curve: weekly success rate and estimation accuracy. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, insightAgentParams)
  const query = validQuery(event, learningCurveQuery)
  return learningCurve(id, query, scopeFor(event, query.project_id))
})
