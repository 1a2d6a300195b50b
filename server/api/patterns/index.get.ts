import { patternQuery } from '../../../shared/insights'
import { listPatterns } from '../../utils/patterns'

/** GET /api/patterns: detected patterns with their evidence. */
export default defineEventHandler((event) => {
  const query = validQuery(event, patternQuery)
  return listPatterns(query, scopeFor(event, query.project_id))
})
