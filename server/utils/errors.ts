/**
 * The one error helper: every API error leaves as the envelope
 * `{"error":{code,message,details,timestamp,request_id}}` (ARCHITECTURE §4).
 */
import { createError, type H3Event } from 'h3'
import { errorCodes, type ErrorCode, type ErrorEnvelope } from '../../shared/errors'

export type ApiErrorData = { code: ErrorCode, details: Record<string, unknown> }

/** Throw this from a handler: `throw apiError('CONVERSATION_NOT_FOUND', '…', { id })`. */
export function apiError(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
  return createError({
    statusCode: errorCodes[code],
    statusMessage: code,
    message,
    data: { code, details } satisfies ApiErrorData,
  })
}

export function errorEnvelope(event: H3Event | undefined, code: ErrorCode, message: string, details: Record<string, unknown> = {}): ErrorEnvelope {
  return {
    error: {
      code,
      message,
      details,
      timestamp: new Date().toISOString(),
      request_id: (event?.context.requestId as string | undefined) ?? '',
    },
  }
}

/** The code for an error that was not raised through `apiError` (h3's own, zod's, a crash). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400: return 'BAD_REQUEST'
    case 401: return 'UNAUTHORIZED'
    case 403: return 'FORBIDDEN'
    case 404: return 'NOT_FOUND'
    case 405: return 'METHOD_NOT_ALLOWED'
    case 409: return 'CONFLICT'
    case 413: return 'PAYLOAD_TOO_LARGE'
    case 415: return 'UNSUPPORTED_MEDIA_TYPE'
    case 429: return 'RATE_LIMITED'
    case 503: return 'SERVICE_UNAVAILABLE'
    default: return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST'
  }
}
