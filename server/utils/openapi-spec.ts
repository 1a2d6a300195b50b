/**
 * The shapes of the API registry (openapi.ts), apart so that each area can keep its routes
 * in its own module (`openapi-<area>.ts`) without an import cycle.
 */
import type { z } from 'zod'
import type { ErrorCode } from '../../shared/errors'

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete'

export type ApiResponseSpec = {
  description: string
  /** A JSON body. */
  schema?: z.ZodType
  /** A body of another media type (`text/event-stream`), documented as text. */
  mediaType?: string
}

export type ApiRoute = {
  method: HttpMethod
  /** OpenAPI path template: `/api/conversations/{id}`. */
  path: string
  operationId: string
  summary: string
  description?: string
  tag: (typeof tags)[number]['name']
  params?: z.ZodObject
  query?: z.ZodObject
  headers?: z.ZodObject
  body?: z.ZodType
  /** `false`: the body may be left out. */
  bodyRequired?: boolean
  /** Success answers by status; errors come from `errors`. */
  responses: Partial<Record<number, ApiResponseSpec>>
  /**
   * The codes the route raises itself. Those that follow from its shape are added by
   * `routeErrors`: credentials (401/403) unless open, rate limits where they apply,
   * validation when it takes params, a query or a body, body reading (invalid JSON, media
   * type, size), internal errors.
   */
  errors?: ErrorCode[]
  /** A WebSocket upgrade (101): no JSON answer, no automatic error codes. */
  upgrade?: true
}

export const tags = [
  { name: 'Health', description: 'Liveness and the state of each service.' },
  { name: 'Meta', description: 'This description.' },
  { name: 'Ingest', description: 'Every fact enters through the event log.' },
  { name: 'Conversations', description: 'Conversations between agents, their messages, analytics and search.' },
  { name: 'Realtime', description: 'The WebSocket and the conversation stream (Server-Sent Events).' },
  { name: 'Projects', description: 'Projects with progress, team, health, quality gates and workflow.' },
  { name: 'Agents', description: 'Agents with their status and performance.' },
  { name: 'Tasks', description: 'Tasks, blockers and decisions.' },
  { name: 'Pipelines', description: 'Stage DAGs run by agents: runs, retries, a laid-out diagram, metrics and notifications.' },
  { name: 'Events', description: 'The ordered, append-only event log.' },
  { name: 'Connectors', description: 'Sources that read other systems (the Marcus log connector).' },
  { name: 'Access', description: 'API keys and the audit log (admins).' },
  { name: 'Costs', description: 'Token usage priced by the model price table, budgets and forecasts.' },
  { name: 'Memory', description: 'What each agent has done and learned: profiles, learning curves, blockers, the knowledge graph.' },
  { name: 'Patterns', description: 'Patterns found in stored work, predictions with their inputs, recommendations.' },
  { name: 'Context', description: 'Task dependency graphs with their context and impact analysis.' },
  { name: 'Operations', description: 'Backups, retention and the running instance.' },
] as const

export const json = (description: string, schema: z.ZodType): ApiResponseSpec => ({ description, schema })
