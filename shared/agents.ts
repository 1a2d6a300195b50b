/** Request schemas of the Agent Management API. */
import { z } from 'zod'
import { agentCommands, agentStatuses } from './events'
import { idParam, intParam, timeParam } from './query'

export const agentIdParams = z.object({ id: idParam })
export const agentCommandParams = z.object({ id: idParam, command_id: idParam })

export const heartbeatBody = z.strictObject({
  status: z.enum(agentStatuses).optional(),
  /** 0..1 */
  load: z.number().min(0).max(1).optional(),
  /** Reported figures, e.g. cpu_usage, memory_usage (0..1), active_connections. */
  metrics: z.record(z.string(), z.union([z.number(), z.string(), z.boolean(), z.null()])).optional(),
})

export const commandBody = z.strictObject({
  command: z.enum(agentCommands),
  parameters: z.record(z.string(), z.unknown()).optional(),
  /** Seconds until an unacknowledged command expires (default SENECA_COMMAND_TTL_MS). */
  ttl_seconds: z.number().int().min(1).max(7 * 24 * 3600).optional(),
})

export const commandListQuery = z.object({
  status: z.enum(['pending', 'delivered', 'acknowledged', 'failed', 'expired']).optional(),
})

export const commandAckBody = z.strictObject({
  status: z.enum(['acknowledged', 'failed']),
  result: z.record(z.string(), z.unknown()).optional(),
})

export const agentAnalyticsQuery = z.object({ project_id: idParam.optional() })

export const alertListQuery = z.object({
  project_id: idParam.optional(),
  severity: z.enum(['info', 'warning', 'error', 'critical']).optional(),
  type: z.string().max(64).optional(),
  subject_id: idParam.optional(),
  since: timeParam.optional(),
  limit: intParam('limit', 100, 1, 1000),
})
