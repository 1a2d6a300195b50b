import { pipelineListQuery, type PipelineListResponse } from '../../../shared/pipelines'

/** GET /api/pipelines: pipelines with their latest run's stages and metrics from their runs. */
export default defineEventHandler((event) => {
  const query = validQuery(event, pipelineListQuery)
  return listPipelines(query, scopeFor(event, query.project_id)) satisfies PipelineListResponse
})
