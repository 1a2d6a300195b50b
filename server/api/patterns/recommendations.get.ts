import { patternQuery } from '../../../shared/insights'
import { recommendations } from '../../utils/patterns'

/** GET /api/patterns/recommendations: what to do about the detected patterns. */
export default defineEventHandler((event) => {
  const query = validQuery(event, patternQuery)
  return recommendations(query, scopeFor(event, query.project_id))
})
