/**
 * CORS for the API, /health and /metrics. Default (no SENECA_CORS_ORIGINS): no CORS headers at
 * all — the dashboard is same-origin and other origins' scripts are refused by the browser.
 * A listed origin gets Access-Control-Allow-Origin naming it, and its preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here with 204 — before authentication, since
 * browsers send preflights without credentials. A preflight from any other origin is a 403.
 */
import { sendNoContent } from 'h3'
import { corsAllowHeaders, corsAllowMethods, corsAllowOrigin, corsExposeHeaders, corsMaxAge } from '../utils/headers'

export default defineEventHandler((event) => {
  const origin = getRequestHeader(event, 'origin')
  if (!origin) return
  const path = event.path.split('?')[0]!
  if (!path.startsWith('/api') && path !== '/health' && path !== '/metrics') return
  const allowed = useConfig().corsOrigins
  const allowOrigin = corsAllowOrigin(allowed, origin)
  if (allowed.length) appendResponseHeader(event, 'Vary', 'Origin')
  if (allowOrigin) {
    setResponseHeader(event, 'Access-Control-Allow-Origin', allowOrigin)
    setResponseHeader(event, 'Access-Control-Expose-Headers', corsExposeHeaders)
  }
  if (event.method !== 'OPTIONS' || !getRequestHeader(event, 'access-control-request-method')) return
  if (!allowOrigin) {
    throw apiError('FORBIDDEN', `Origin ${origin} may not call this API from a browser (see SENECA_CORS_ORIGINS)`, { origin })
  }
  setResponseHeader(event, 'Access-Control-Allow-Methods', corsAllowMethods)
  setResponseHeader(event, 'Access-Control-Allow-Headers', corsAllowHeaders)
  setResponseHeader(event, 'Access-Control-Max-Age', corsMaxAge)
  return sendNoContent(event, 204)
})
