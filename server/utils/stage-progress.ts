/**
 * Stage progress an agent reports over the WebSocket (`stage_progress`): the very
 * `pipeline.stage.updated` event `POST /api/ingest` takes, through the same ingest path, sent
 * with the connection's principal — its role must be one that may ingest, and the event must
 * be in one of its projects — so both ways of reporting behave alike.
 */
import { type ErrorCode, errorCodes } from '../../shared/errors'
import type { ClientMessage } from '../../shared/realtime'
import { type Principal, canUseProject, projectScope } from './auth'
import { useDatabase } from './db'
import { apiError } from './errors'
import { roleMayAccess } from './gateway'
import { ingest } from './ingest'

export type StageProgressOutcome = { event_id: string, status: 'stored' | 'duplicate', seq: number | null, run_id: string, stage_id: string }

export function reportStageProgress(principal: Principal, data: ClientMessage<'stage_progress'>): StageProgressOutcome {
  if (!roleMayAccess(principal.role, 'ingest')) {
    throw apiError('FORBIDDEN', `The ${principal.role} role may not report progress; it needs admin, member or ingest`, { role: principal.role })
  }
  const { request_id: _requestId, ...fields } = data
  // Without a project the report belongs to its run's project (an agent is told the run, not
  // always the project); a run outside the principal's projects is answered as unknown.
  let projectId = fields.project_id
  if (projectId === undefined) {
    const run = useDatabase().sqlite.prepare('SELECT project_id FROM pipeline_runs WHERE id = ?').get(fields.run_id) as { project_id: string } | undefined
    if (!run || !canUseProject(principal, run.project_id)) {
      throw apiError('PIPELINE_RUN_NOT_FOUND', `Pipeline run '${fields.run_id}' does not exist`, { run_id: fields.run_id })
    }
    projectId = run.project_id
  }
  const source = principal.kind === 'api_key' ? `ws:${principal.id}` : 'ws'
  const outcome = ingest([{ ...fields, kind: 'pipeline.stage.updated', project_id: projectId }], source, { projects: projectScope(principal) })
  const result = outcome.results[0]!
  if (result.status === 'rejected') {
    const error = result.error!
    const code = (Object.hasOwn(errorCodes, error.code) ? error.code : 'VALIDATION_FAILED') as ErrorCode
    throw apiError(code, error.message, { ...(error.details as Record<string, unknown> | undefined), run_id: fields.run_id, stage_id: fields.stage_id })
  }
  return { event_id: result.id!, status: result.status, seq: result.seq ?? null, run_id: fields.run_id, stage_id: fields.stage_id }
}
