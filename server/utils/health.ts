/**
 * `GET /health` and `/api/health`: `{status, timestamp, version, services:{database, marcus, cache}}`,
 * 200 when healthy, 503 otherwise.
 */
import { type H3Event, setResponseStatus } from 'h3'
import pkg from '../../package.json'
import { useDatabase } from './db'

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy'

/**
 * A service's state as shown under `services`. A plain string never changes the overall
 * status (an optional service such as the cache); `{state, status}` lowers it to `status`
 * (e.g. the Marcus connection: `disconnected` → degraded, per the seed).
 */
export type ServiceState = string | { state: string, status: HealthStatus }

type ServiceCheck = () => ServiceState

const checks = new Map<string, ServiceCheck>()

/** Connectors and caches register how they are doing. */
export function registerHealthCheck(service: string, check: ServiceCheck) {
  checks.set(service, check)
}

const severity: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 }

export function healthReport() {
  const services: Record<string, string> = {}
  let status: HealthStatus = 'healthy'
  try {
    useDatabase().sqlite.prepare('SELECT 1').get()
    services.database = 'healthy'
  }
  catch (error) {
    services.database = `unhealthy: ${(error as Error).message}`
    status = 'unhealthy'
  }
  services.marcus = 'not_configured'
  services.cache = 'memory'
  for (const [name, check] of checks) {
    try {
      const state = check()
      if (typeof state === 'string') services[name] = state
      else {
        services[name] = state.state
        if (severity[state.status] > severity[status]) status = state.status
      }
    }
    catch (error) {
      services[name] = `error: ${(error as Error).message}`
    }
  }
  return { status, timestamp: new Date().toISOString(), version: pkg.version, services }
}

export function sendHealth(event: H3Event) {
  const report = healthReport()
  setResponseStatus(event, report.status === 'healthy' ? 200 : 503)
  return report
}
