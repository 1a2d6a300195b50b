/**
 * `GET /health` and `/api/health`: `{status, timestamp, version, services:{database, marcus, cache}}`,
 * 200 when healthy, 503 otherwise.
 */
import { type H3Event, setResponseStatus } from 'h3'
import pkg from '../../package.json'
import { useDatabase } from './db'

type ServiceCheck = () => string

const checks = new Map<string, ServiceCheck>()

/** Connectors and caches register how they are doing. */
export function registerHealthCheck(service: string, check: ServiceCheck) {
  checks.set(service, check)
}

export function healthReport() {
  const services: Record<string, string> = {}
  let status: 'healthy' | 'degraded' | 'unhealthy' = 'healthy'
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
      services[name] = check()
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
