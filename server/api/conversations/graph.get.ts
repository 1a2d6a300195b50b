import { communicationGraphQuery } from '../../../shared/dashboards'
import { communicationGraph } from '../../utils/communication-graph'

/** GET /api/conversations/graph: who talks to whom, edges weighted by messages and errors. */
export default defineEventHandler((event) => {
  const query = validQuery(event, communicationGraphQuery)
  return communicationGraph(query, scopeFor(event, query.project_id))
})
