/** Every error code the API answers with, in one place. */
import type { z } from 'zod'
import type { errorEnvelope } from './responses'

export const errorCodes = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_CURSOR: 400,
  BATCH_TOO_LARGE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  CONVERSATION_NOT_FOUND: 404,
  MESSAGE_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  TASK_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  PROJECT_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  /** A WebSocket frame that is not JSON `{event, data}` or not a known client event. */
  INVALID_MESSAGE: 400,
  COMMAND_NOT_FOUND: 404,
  PIPELINE_NOT_FOUND: 404,
  PIPELINE_RUN_NOT_FOUND: 404,
} as const

export type ErrorCode = keyof typeof errorCodes

/** `{"error":{code,message,details,timestamp,request_id}}`; the schema is in ./responses. */
export type ErrorEnvelope = z.output<typeof errorEnvelope>
