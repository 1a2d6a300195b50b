/**
 * Per-request observability: when each response ends (successfully, with an error, or cut off
 * by the client) it is counted in api_requests_total / api_request_duration_seconds under its
 * route pattern and logged as one JSON line. Health and metrics requests are logged at debug
 * unless they fail. A 401 to a request that carried a credential is charged to the client's
 * address (server/middleware/09.rate-limit-anonymous.ts refuses it once that budget is spent).
 *
 * SENECA_GATEWAY=off (benchmarks only) turns all of this off, together with authentication and
 * rate limits; it is refused unless the server listens on a loopback address.
 */
import type { H3Event } from 'h3'
import { observeRequest } from '../utils/metrics'
import { flushLogger, useLogger } from '../utils/logger'
import { clientAddress, hasCredential, recordAuthFailure } from '../utils/ratelimit'
import type { Principal } from '../utils/auth'
import { isLoopback } from '../utils/config'

const quiet = new Set(['/health', '/api/health', '/metrics'])

export default defineNitroPlugin((nitroApp) => {
  const config = useConfig()
  const logger = useLogger()
  nitroApp.hooks.hook('close', () => flushLogger())
  if (config.gatewayOff) {
    if (!isLoopback(config.host)) {
      throw new Error(`SENECA_GATEWAY=off disables authentication and is only allowed on a loopback address; HOST is "${config.host || '(all interfaces)'}"`)
    }
    const warning = 'SENECA_GATEWAY=off: NO authentication, rate limits, request metrics or request logs. For benchmarks only.'
    logger.warn({ host: config.host }, warning)
    console.warn(`\n[seneca] !!! ${warning} !!!\n`)
    return
  }

  /** The route pattern of a request the router never reached (refused by a middleware, a static file). */
  const resolvePattern = async (path: string): Promise<string> => {
    if (path.startsWith('/_nuxt/')) return '/_nuxt/**'
    try {
      return (await nitroApp.h3App.resolve(path))?.route ?? '(unmatched)'
    }
    catch {
      return '(unmatched)'
    }
  }

  const record = (event: H3Event, ms: number, path: string, route: string) => {
    const res = event.node.res
    // 499: the client went away before the response was complete (nginx's convention).
    const status = res.writableFinished ? res.statusCode : 499
    observeRequest(event.method, route, status, ms / 1000)
    const level = status >= 500 ? 'error' : quiet.has(path) && status < 400 ? 'debug' : 'info'
    logger[level]({
      request_id: event.context.requestId,
      principal: (event.context.principal as Principal | undefined)?.id ?? null,
      method: event.method,
      route,
      path,
      status,
      duration_ms: Math.round(ms * 100) / 100,
    }, 'request')
    if (status === 401 && config.rateLimits.enabled && path.startsWith('/api') && hasCredential(event)) {
      recordAuthFailure(clientAddress(event)).catch(() => { /* counted in memory or not at all; never fails the request */ })
    }
  }

  nitroApp.hooks.hook('request', (event) => {
    const started = performance.now()
    // The path as sent, without the query string (which may carry a stream token).
    const path = (event.node.req.originalUrl ?? event.node.req.url ?? '/').split('?')[0]!
    event.node.res.once('close', () => {
      const ms = performance.now() - started
      const matched = (event.context.matchedRoute as { path?: string } | undefined)?.path
      if (matched) record(event, ms, path, matched)
      else void resolvePattern(path).then(route => record(event, ms, path, route))
    })
  })
})
