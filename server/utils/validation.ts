/**
 * zod validation of route params, query strings and bodies; a failure is a 400
 * `VALIDATION_FAILED` envelope listing each issue.
 */
import { getQuery, getRouterParams, type H3Event } from 'h3'
import type { z } from 'zod'
import { apiError } from './errors'

export function validated<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input)
  if (parsed.success) return parsed.data
  const issues = parsed.error.issues.slice(0, 20).map(i => ({ path: i.path.join('.'), message: i.message }))
  throw apiError('VALIDATION_FAILED', `Invalid ${what}: ${issues.map(i => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`, { issues })
}

export function validQuery<S extends z.ZodType>(event: H3Event, schema: S): z.output<S> {
  const query = getQuery(event)
  // A repeated parameter (`?limit=1&limit=2`) is ambiguous: refuse it rather than guess.
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) throw apiError('VALIDATION_FAILED', `Query parameter ${key} is given more than once`, { parameter: key })
  }
  return validated(schema, query, 'query')
}

export function validParams<S extends z.ZodType>(event: H3Event, schema: S): z.output<S> {
  return validated(schema, getRouterParams(event, { decode: true }), 'path parameter')
}
