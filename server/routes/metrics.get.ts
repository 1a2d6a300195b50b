import { timingSafeEqual } from 'node:crypto'
import { metricsContentType, renderMetrics } from '../utils/metrics'

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** GET /metrics: Prometheus text. Open unless SENECA_METRICS_TOKEN is set; then it wants that bearer token. */
export default defineEventHandler(async (event) => {
  const token = useConfig().metricsToken
  if (token) {
    const given = getRequestHeader(event, 'authorization')?.match(/^Bearer\s+(.+)$/i)?.[1]
    if (!given || !sameSecret(given.trim(), token)) {
      setResponseHeader(event, 'WWW-Authenticate', 'Bearer realm="seneca-metrics"')
      throw apiError('UNAUTHORIZED', 'GET /metrics needs Authorization: Bearer <SENECA_METRICS_TOKEN>', { reason: given ? 'invalid' : 'missing' })
    }
  }
  setResponseHeader(event, 'Content-Type', metricsContentType)
  setResponseHeader(event, 'Cache-Control', 'no-store')
  return await renderMetrics()
})
