import { pipelineParams, type PipelineDetailResponse } from '../../../../shared/pipelines'

/** GET /api/pipelines/{id}: one pipeline with its notification targets and recent runs. */
export default defineEventHandler((event) => {
  const { id } = validParams(event, pipelineParams)
  return getPipelineDetail(id, scopeFor(event)) satisfies PipelineDetailResponse
})
