import { pipelineCancelBody, pipelineRunParams, type PipelineRunResponse } from '../../../../../../shared/pipelines'

/** POST /api/pipelines/{id}/runs/{run_id}/cancel: open stages and their tasks are cancelled. The body may be left out. */
export default defineEventHandler(async (event) => {
  principalOf(event)
  const { id, run_id } = validParams(event, pipelineRunParams)
  const hasBody = Number(getRequestHeader(event, 'content-length') ?? 0) > 0 || getRequestHeader(event, 'transfer-encoding') !== undefined
  const { reason } = validated(pipelineCancelBody, hasBody ? await readJsonBody(event, 16 * 1024) : {}, 'body')
  const run = cancelPipelineRun(id, run_id, reason, scopeFor(event))
  event.context.audit = { action: 'pipeline.run.cancelled', projectId: run.project_id, target: run_id }
  return run satisfies PipelineRunResponse
})
