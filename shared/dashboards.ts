/**
 * Inputs and response shapes of the routes the dashboards added: the communication graph of
 * who talks to whom (`GET /api/conversations/graph`).
 */
import { z } from 'zod'
import { idParam, intParam, timeParam } from './query'

export const communicationGraphQuery = z.object({
  project_id: idParam.optional(),
  /** Messages the agent sent or received. */
  agent_id: idParam.optional(),
  conversation_id: idParam.optional(),
  /** Messages after / before these times. */
  since: timeParam.optional(),
  until: timeParam.optional(),
  /** The heaviest edges kept (the rest are summed in `omitted_messages`). */
  limit: intParam('limit', 300, 1, 2000),
})
export type CommunicationGraphQuery = z.output<typeof communicationGraphQuery>

const count = z.number().int().min(0)

export const communicationGraphResponse = z.object({
  nodes: z.array(z.object({
    id: z.string().describe('A sender or recipient as named in messages (`*` for messages to everyone).'),
    sent: count,
    received: count,
    errors: count.describe('Error messages it sent.'),
  })),
  edges: z.array(z.object({
    source: z.string(),
    target: z.string(),
    messages: count,
    errors: count.describe('Messages of type `error` on this edge.'),
    avg_response_time_ms: z.number().nullable().describe('Mean response time of the answers on this edge.'),
  })).describe('Heaviest first.'),
  total_messages: count,
  omitted_messages: count.describe('Messages on edges beyond `limit`.'),
}).meta({ id: 'CommunicationGraph' })
export type CommunicationGraph = z.output<typeof communicationGraphResponse>

/** `GET /api/me`: who the credential is, so a client shows only what it may use. */
export const meResponse = z.object({
  id: z.string().describe('`user:<sub>` for a JWT, `key:<id>` for an API key.'),
  kind: z.enum(['jwt', 'api_key']),
  role: z.enum(['admin', 'member', 'viewer', 'ingest']),
  projects: z.union([z.literal('*'), z.array(z.string())]).describe('The projects it may use; `*` for every project.'),
  expires_at: z.string().nullable().describe('When a JWT expires (ISO-8601); null for API keys.'),
}).meta({ id: 'Me' })
export type Me = z.output<typeof meResponse>
