import { pipelineRunParams, type PipelineRunResponse } from '../../../../../../shared/pipelines'

/** GET /api/pipelines/{id}/runs/{run_id}: one run with its stage runs. */
export default defineEventHandler((event) => {
  const { id, run_id } = validParams(event, pipelineRunParams)
  return getPipelineRun(id, run_id, scopeFor(event)) satisfies PipelineRunResponse
})
