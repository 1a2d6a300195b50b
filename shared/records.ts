/** Query schemas of the agent, task, blocker, decision and event-log endpoints. */
import { z } from 'zod'
import { agentStatuses, taskStatuses, severities } from './events'
import { idParam, intParam } from './query'

const page = {
  limit: intParam('limit', 50, 1, 500),
  offset: intParam('offset', 0, 0, 1_000_000_000),
}

export const agentListQuery = z.object({
  project_id: idParam.optional(),
  status: z.enum(agentStatuses).optional(),
})

export const taskListQuery = z.object({
  ...page,
  project_id: idParam.optional(),
  status: z.enum(taskStatuses).optional(),
  /** Tasks assigned to this agent. */
  agent_id: idParam.optional(),
})

export const blockerListQuery = z.object({
  ...page,
  project_id: idParam.optional(),
  status: z.enum(['open', 'resolved']).optional(),
  severity: z.enum(severities).optional(),
  agent_id: idParam.optional(),
  task_id: idParam.optional(),
})

export const decisionListQuery = z.object({
  ...page,
  project_id: idParam.optional(),
  agent_id: idParam.optional(),
  task_id: idParam.optional(),
})

export const eventListQuery = z.object({
  limit: intParam('limit', 100, 1, 1000),
  /** Events after this sequence number (exclusive); 0 for the start of the log. */
  since_seq: intParam('since_seq', 0, 0, Number.MAX_SAFE_INTEGER),
  kind: z.string().max(64).optional(),
  /** The source's own record type of generic events (`system_state`, `realtime.ping_request`, …). */
  type: z.string().max(256).optional(),
  source: z.string().max(64).optional(),
  project_id: idParam.optional(),
})

export const eventStatsQuery = z.object({ project_id: idParam.optional() })
export const taskIdParams = z.object({ id: idParam })
