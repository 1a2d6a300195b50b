import { pipelineCreateBody, type PipelineDetailResponse } from '../../../shared/pipelines'

/** POST /api/pipelines: defines a pipeline (a DAG of stages) and where its notifications go. */
export default defineEventHandler(async (event) => {
  principalOf(event)
  const body = validated(pipelineCreateBody, await readJsonBody(event, 256 * 1024), 'body')
  assertProjectAccess(event, body.project_id)
  const pipeline = definePipeline(body)
  event.context.audit = { action: 'pipeline.defined', projectId: body.project_id, target: pipeline.id }
  setResponseStatus(event, 201)
  return pipeline satisfies PipelineDetailResponse
})
