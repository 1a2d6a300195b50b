/** Request schemas of the Pipelines API. */
import { z } from 'zod'
import { idParam, intParam } from './query'
import type { pipelineDeliveriesResponse, pipelineDetailResponse, pipelineListResponse, pipelineRunResponse, pipelineVisualizationResponse } from './responses'

export const notificationChannels = ['webhook', 'slack', 'email'] as const
export type NotificationChannel = (typeof notificationChannels)[number]

const stageId = z.string().regex(/^[\w.-]{1,64}$/, 'a stage id may hold letters, digits, _, . and - (at most 64)')
const httpUrl = z.url({ protocol: /^https?$/ }).max(2048)

export const pipelineStageInput = z.strictObject({
  id: stageId,
  name: z.string().trim().min(1).max(200),
  /** The agent that does the stage; when it is not healthy, an agent with `capability` does. */
  agent_id: idParam.optional(),
  /** Any healthy agent of the project with this capability (the one with the fewest open tasks). */
  capability: z.string().min(1).max(200).optional(),
  depends_on: z.array(stageId).max(100).optional(),
  estimated_seconds: z.number().min(0).max(1e9).optional(),
}).refine(s => s.agent_id !== undefined || s.capability !== undefined, { message: 'a stage needs agent_id or capability', path: ['agent_id'] })

export const notificationTargetsInput = z.strictObject({
  /** POSTed JSON signed with `X-Seneca-Signature: sha256=<HMAC-SHA256 of the body with secret>`. */
  webhook: z.strictObject({ url: httpUrl, secret: z.string().min(16).max(256) }).optional(),
  /** A Slack (or compatible) incoming-webhook URL. */
  slack: z.strictObject({ url: httpUrl }).optional(),
  /** Needs SENECA_SMTP_URL. */
  email: z.strictObject({ to: z.array(z.email()).min(1).max(20) }).optional(),
})

export const pipelineCreateBody = z.strictObject({
  /** Chosen id; generated when omitted. */
  id: z.string().regex(/^[\w.-]{1,128}$/, 'id may hold letters, digits, _, . and - (at most 128)').optional(),
  project_id: idParam,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(10_000).optional(),
  stages: z.array(pipelineStageInput).min(1).max(200),
  notification_targets: notificationTargetsInput.optional(),
})

export const pipelineExecuteBody = z.strictObject({
  trigger: z.string().min(1).max(64).default('manual'),
  parameters: z.record(z.string(), z.unknown()).optional(),
  /** Channels per outcome; omitted: every configured channel on both. */
  notifications: z.strictObject({
    on_completion: z.array(z.enum(notificationChannels)).max(3).optional(),
    on_failure: z.array(z.enum(notificationChannels)).max(3).optional(),
  }).optional(),
})

export const pipelineRetryBody = z.strictObject({ stage_id: stageId })
export const pipelineCancelBody = z.strictObject({ reason: z.string().max(1000).optional() })

export const pipelineParams = z.object({ id: idParam })
export const pipelineRunParams = z.object({ id: idParam, run_id: idParam })

export const pipelineListQuery = z.object({ project_id: idParam.optional() })
export const pipelineVisualizationQuery = z.object({ run_id: idParam.optional().describe('A run of the pipeline; default its latest.') })
export const pipelineDeliveriesQuery = z.object({ limit: intParam('limit', 100, 1, 500) })

export type PipelineCreateBody = z.output<typeof pipelineCreateBody>
export type PipelineExecuteBody = z.output<typeof pipelineExecuteBody>

export type PipelineListResponse = z.output<typeof pipelineListResponse>
export type PipelineDetailResponse = z.output<typeof pipelineDetailResponse>
export type PipelineRunResponse = z.output<typeof pipelineRunResponse>
export type PipelineVisualizationResponse = z.output<typeof pipelineVisualizationResponse>
export type PipelineDeliveriesResponse = z.output<typeof pipelineDeliveriesResponse>
