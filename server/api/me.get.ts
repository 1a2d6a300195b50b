import type { Me } from '../../shared/dashboards'

/** GET /api/me: the caller's identity, role and projects (any credential may ask about itself). */
export default defineEventHandler((event): Me => {
  const p = principalOf(event)
  return { id: p.id, kind: p.kind, role: p.role, projects: p.projects, expires_at: p.expiresAt ? new Date(p.expiresAt).toISOString() : null }
})
