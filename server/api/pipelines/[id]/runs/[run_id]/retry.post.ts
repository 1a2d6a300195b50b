import { pipelineRetryBody, pipelineRunParams, type PipelineRunResponse } from '../../../../../../shared/pipelines'

/** POST /api/pipelines/{id}/runs/{run_id}/retry: a failed stage and its dependants run again in the same run. */
export default defineEventHandler(async (event) => {
  principalOf(event)
  const { id, run_id } = validParams(event, pipelineRunParams)
  const { stage_id } = validated(pipelineRetryBody, await readJsonBody(event, 16 * 1024), 'body')
  const run = retryPipelineStage(id, run_id, stage_id, scopeFor(event))
  event.context.audit = { action: 'pipeline.stage.retried', projectId: run.project_id, target: `${run_id}/${stage_id}` }
  return run satisfies PipelineRunResponse
})
