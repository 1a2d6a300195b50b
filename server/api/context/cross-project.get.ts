import { crossProjectQuery } from '../../../shared/insights'
import { crossProjectContext } from '../../utils/context'

/** GET /api/context/cross-project: agents and artifacts shared between projects. */
export default defineEventHandler((event) => {
  const query = validQuery(event, crossProjectQuery)
  // The named project must be the caller's; what it shares is looked for in all of the caller's projects.
  if (query.project_id !== undefined) assertProjectAccess(event, query.project_id)
  return crossProjectContext(query, scopeFor(event))
})
