/**
 * Nitro's error handler: API requests get the error envelope (ARCHITECTURE §4) with a
 * stable code and never a stack trace; pages fall back to Nuxt's error page.
 */
import type { NitroErrorHandler } from 'nitropack'
import { getRequestURL, send, setResponseHeader, setResponseStatus } from 'h3'
import { auditRequest } from './utils/audit'
import type { ApiErrorData } from './utils/errors'
import { codeForStatus, errorEnvelope } from './utils/errors'

const handler: NitroErrorHandler = (error, event) => {
  const path = getRequestURL(event).pathname
  const isApi = path.startsWith('/api') || path === '/health' || path === '/metrics'
  // Not handled here: Nuxt's error handler, next in the chain, renders the page.
  if (!isApi) return
  const status = error.statusCode || 500
  const data = error.data as Partial<ApiErrorData> | undefined
  // A 404 raised by the router or the page renderer means the route does not exist.
  const code = data?.code ?? (status === 404 ? 'ROUTE_NOT_FOUND' : codeForStatus(status))
  let message = error.message || error.statusMessage || code
  if (!data?.code && status >= 500) message = 'Internal error; the request id identifies it in the server log'
  else if (!data?.code && status === 404) message = `No route ${event.method} ${path}`
  if (status >= 500) console.error('[seneca]', event.context.requestId, error.cause ?? error)
  setResponseStatus(event, status)
  setResponseHeader(event, 'Content-Type', 'application/json')
  if (event.context.requestId) setResponseHeader(event, 'X-Request-Id', event.context.requestId as string)
  auditRequest(event, status)
  return send(event, JSON.stringify(errorEnvelope(event, code, message, data?.details ?? {})))
}

export default handler
