/**
 * Who may see what, for route handlers: the principal the gateway put on the request, and
 * the project scope that goes into each query's SQL `WHERE`.
 */
import type { H3Event } from 'h3'
import { type Principal, type Role, canUseProject, projectScope } from './auth'
import { apiError } from './errors'

/** `null`: every project; otherwise the project ids a query may touch. */
export type Scope = string[] | null

export function principalOf(event: H3Event): Principal {
  const principal = event.context.principal as Principal | undefined
  if (!principal) throw apiError('UNAUTHORIZED', 'Authentication required: send Authorization: Bearer <token or API key>')
  return principal
}

export function requireRole(event: H3Event, ...allowed: Role[]): Principal {
  const principal = principalOf(event)
  if (!allowed.includes(principal.role)) {
    throw apiError('FORBIDDEN', `This needs the role ${allowed.join(' or ')}; you have ${principal.role}`, { role: principal.role, required: allowed })
  }
  return principal
}

/** 403 unless the caller may use the project. */
export function assertProjectAccess(event: H3Event, projectId: string) {
  const principal = principalOf(event)
  if (!canUseProject(principal, projectId)) {
    event.context.denied = { project_id: projectId }
    throw apiError('FORBIDDEN', `No access to project '${projectId}'`, { project_id: projectId })
  }
}

/**
 * The scope of a list or search: with `projectId` asked for, that project (403 if not the
 * caller's); otherwise every project the caller may use.
 */
export function scopeFor(event: H3Event, projectId?: string): Scope {
  if (projectId !== undefined) {
    assertProjectAccess(event, projectId)
    return null
  }
  return projectScope(principalOf(event))
}

/** Whether a row of `projectId` is visible in the scope (a hidden row answers 404, like a missing one). */
export function inScope(scope: Scope, projectId: string | null | undefined): boolean {
  return scope === null || (projectId != null && scope.includes(projectId))
}

/**
 * Analytics across projects are for admins: anyone else names a project, or has exactly
 * one, which is then used.
 */
export function analyticsProject(event: H3Event, projectId?: string): string | undefined {
  if (projectId !== undefined) {
    assertProjectAccess(event, projectId)
    return projectId
  }
  const principal = principalOf(event)
  if (principal.role === 'admin' || principal.projects === '*') return undefined
  if (principal.projects.length === 1) return principal.projects[0]
  throw apiError('FORBIDDEN', 'Cross-project analytics are for admins; pass project_id', { projects: principal.projects })
}

/** SQL for `column IN scope` with one parameter (a JSON array), or nothing for every project. */
export function scopeSql(column: string, scope: Scope, params: Record<string, unknown>, name = 'scope'): string[] {
  if (scope === null) return []
  params[name] = JSON.stringify(scope)
  return [`${column} IN (SELECT value FROM json_each(@${name}))`]
}
