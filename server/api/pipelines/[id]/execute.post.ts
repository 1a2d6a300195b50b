import { pipelineExecuteBody, pipelineParams, type PipelineRunResponse } from '../../../../shared/pipelines'

/** POST /api/pipelines/{id}/execute: starts a run; stages whose dependencies are met start as tasks. */
export default defineEventHandler(async (event) => {
  principalOf(event)
  const { id } = validParams(event, pipelineParams)
  const body = validated(pipelineExecuteBody, await readJsonBody(event, 64 * 1024), 'body')
  const run = executePipeline(id, body, scopeFor(event))
  event.context.audit = { action: 'pipeline.executed', projectId: run.project_id, target: run.id }
  setResponseStatus(event, 201)
  return run satisfies PipelineRunResponse
})
