import { knowledgeGraphQuery } from '../../../shared/insights'
import { knowledgeGraph } from '../../utils/memory'

/** GET /api/memory/knowledge-graph: projects, agents, tasks, decisions and artifacts with their relations. */
export default defineEventHandler((event) => {
  const query = validQuery(event, knowledgeGraphQuery)
  return knowledgeGraph(query, scopeFor(event, query.project_id))
})
