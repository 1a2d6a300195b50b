import { pipelineParams, pipelineVisualizationQuery, type PipelineVisualizationResponse } from '../../../../shared/pipelines'

/** GET /api/pipelines/{id}/visualization: nodes placed by dagre, edges, live statuses, execution path. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, pipelineParams)
  const { run_id } = validQuery(event, pipelineVisualizationQuery)
  return pipelineVisualization(id, run_id, scopeFor(event)) satisfies PipelineVisualizationResponse
})
