/**
 * The gateway's rules in one table: which routes are open, which roles may call what.
 * The middleware (server/middleware/10.auth.ts) applies them to every /api request.
 */
import type { Role } from './auth'

/** Open without credentials: health, the API description, and the WebSocket (it authenticates itself). */
export const openRoutes = [/^\/api\/health\/?$/, /^\/api\/openapi\.json$/, /^\/api\/ws\/?$/]

/** Only admins. */
export const adminRoutes = [/^\/api\/keys(\/|$)/, /^\/api\/audit(\/|$)/, /^\/api\/connectors(\/|$)/, /^\/api\/admin(\/|$)/]

/** POSTs that only read (a batch lookup, a stream handshake). */
const readingPosts = [/^\/api\/conversations\/batch\/?$/, /^\/api\/conversations\/[^/]+\/stream\/?$/]

/** What agents themselves call with their (ingest) keys: heartbeats, command polling and acknowledgements. */
const agentRoutes = [/^\/api\/agents\/[^/]+\/heartbeat\/?$/, /^\/api\/agents\/[^/]+\/commands\/[^/]+\/ack\/?$/]
const agentPolling = /^\/api\/agents\/[^/]+\/commands\/?$/

export type Access = 'read' | 'ingest' | 'agent' | 'poll' | 'write' | 'admin'

export function accessFor(method: string, path: string): Access {
  if (adminRoutes.some(r => r.test(path))) return 'admin'
  // Every credential may poll its commands and ask who it is.
  if (method === 'GET' && (agentPolling.test(path) || path === '/api/me')) return 'poll'
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 'read'
  if (path === '/api/ingest' || path === '/api/ingest/') return 'ingest'
  if (method === 'POST' && agentRoutes.some(r => r.test(path))) return 'agent'
  if (method === 'POST' && readingPosts.some(r => r.test(path))) return 'read'
  return 'write'
}

const allowed: Record<Access, Role[]> = {
  read: ['admin', 'member', 'viewer'],
  ingest: ['admin', 'member', 'ingest'],
  agent: ['admin', 'member', 'ingest'],
  poll: ['admin', 'member', 'viewer', 'ingest'],
  write: ['admin', 'member'],
  admin: ['admin'],
}

export function roleMayAccess(role: Role, access: Access): boolean {
  return allowed[access].includes(role)
}

export function rolesFor(access: Access): Role[] {
  return allowed[access]
}
