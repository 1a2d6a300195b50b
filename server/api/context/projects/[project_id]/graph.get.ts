import { contextGraphQuery, insightProjectParams } from '../../../../../shared/insights'
import { projectContextGraph } from '../../../../utils/context'

/** GET /api/context/projects/{project_id}/graph: the task dependency graph with each task's context. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, insightProjectParams)
  const query = validQuery(event, contextGraphQuery)
  return projectContextGraph(project_id, query, scopeFor(event))
})
