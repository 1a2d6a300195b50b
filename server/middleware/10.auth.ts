/**
 * Authentication and role check for every /api route (health, the API description and the
 * WebSocket excepted). Puts the principal on `event.context.principal`; a missing, forged or
 * expired credential is a 401, a role that may not do this a 403 (both audited by the audit plugin).
 */
import { getQuery } from 'h3'

export default defineEventHandler(async (event) => {
  const path = event.path.split('?')[0]!
  if (!path.startsWith('/api')) return
  if (openRoutes.some(r => r.test(path))) return
  // Benchmarks of the gateway's cost only (refused off loopback by server/plugins/02.observability.ts).
  if (useConfig().gatewayOff) {
    event.context.principal = { id: 'gateway-off', kind: 'api_key', role: 'admin', projects: '*' }
    return
  }
  const header = getRequestHeader(event, 'authorization')
  let credential = header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? getRequestHeader(event, 'x-api-key')
  // EventSource cannot send headers: the SSE stream takes its short-lived token in the query.
  if (!credential && event.method === 'GET' && /\/stream\/?$/.test(path)) {
    const token = getQuery(event).token
    if (typeof token === 'string') credential = token
  }
  try {
    event.context.principal = await authenticate(credential)
  }
  catch (error) {
    if (!(error instanceof AuthError)) throw error
    setResponseHeader(event, 'WWW-Authenticate', `Bearer realm="seneca"${error.reason === 'missing' ? '' : ', error="invalid_token"'}`)
    throw apiError('UNAUTHORIZED', error.message, { reason: error.reason })
  }
  const principal = event.context.principal
  const access = accessFor(event.method, path)
  if (!roleMayAccess(principal.role, access)) {
    throw apiError('FORBIDDEN', `The ${principal.role} role may not ${event.method} ${path}; it needs ${rolesFor(access).join(' or ')}`, { role: principal.role, required: rolesFor(access) })
  }
})
