/**
 * The OpenAPI document (server/utils/openapi.ts): structurally sound, and in step with the
 * route files — a route file without an entry, or an entry without a route file, fails here.
 */
import { readdirSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { describe, expect, it } from 'vitest'
import { apiRoutes, buildOpenApiDocument, type JsonSchema, routeErrors, routeSecurity } from '../../server/utils/openapi'
import { errorCodes } from '../../shared/errors'

const repoRoot = resolve(import.meta.dirname, '../..')
const doc = buildOpenApiDocument()

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(e => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]))
}

/**
 * (method, path) of every route file by Nitro's conventions: `[id]` is a parameter, `index`
 * the folder itself, a `.get`/`.post`/… suffix the method, none: any method (`*`). The
 * catch-all `[...path]` (the JSON 404) is no route of its own.
 */
function routeFiles(): { method: string, path: string, file: string }[] {
  const found: { method: string, path: string, file: string }[] = []
  for (const [dir, prefix] of [['server/api', '/api'], ['server/routes', '']] as const) {
    for (const file of walk(join(repoRoot, dir))) {
      const rel = relative(join(repoRoot, dir), file).split(sep).join('/')
      const match = rel.match(/^(.+?)(?:\.(get|post|put|patch|delete|head|options|connect|trace))?\.(?:ts|js|mjs)$/)
      if (!match) continue
      const segments = match[1]!.split('/')
      if (segments.some(s => s.startsWith('[...'))) continue
      if (segments.at(-1) === 'index') segments.pop()
      const path = [prefix, ...segments.map(s => s.replace(/^\[(\w+)\]$/, '{$1}'))].join('/') || '/'
      found.push({ method: match[2] ?? '*', path, file: `${dir}/${rel}` })
    }
  }
  return found
}

/** Every `$ref` in the document, with where it was found. */
function refs(value: unknown, at = '#'): { ref: string, at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`))
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refs(v, `${at}/${k}`)))
}

function resolvePointer(pointer: string): unknown {
  let node: unknown = doc
  for (const raw of pointer.replace(/^#\//, '').split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined
    node = (node as Record<string, unknown>)[key]
  }
  return node
}

const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })))

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with an info block, and plain JSON', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.title).toBe('Seneca')
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc)
  })

  it('resolves every $ref inside the document', () => {
    const all = refs(doc)
    expect(all.length).toBeGreaterThan(50)
    const dangling = all.filter(r => !r.ref.startsWith('#/') || resolvePointer(r.ref) === undefined)
    expect(dangling).toEqual([])
  })

  it('uses every component schema and names them as OpenAPI allows', () => {
    const used = new Set(refs(doc).map(r => r.ref))
    for (const name of Object.keys(doc.components.schemas)) {
      expect(name).toMatch(/^[\w.-]+$/)
      expect(used.has(`#/components/schemas/${name}`), `${name} is never referenced`).toBe(true)
    }
  })

  it('has unique operation ids, declared tags and a success answer for every operation', () => {
    const ids = operations.map(o => o.op.operationId)
    expect(new Set(ids).size).toBe(ids.length)
    const tags = new Set(doc.tags.map(t => t.name))
    for (const { path, method, op } of operations) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/)
      for (const tag of op.tags as string[]) expect(tags.has(tag), `${method} ${path}: tag ${tag}`).toBe(true)
      expect(Object.keys(op.responses as object).some(s => /^(2\d\d|101)$/.test(s)), `${method} ${path}`).toBe(true)
    }
  })

  it('declares each path template parameter as a required path parameter, and no others', () => {
    for (const { path, method, op } of operations) {
      const inTemplate = [...path.matchAll(/\{(\w+)\}/g)].map(m => m[1]).sort()
      const declared = ((op.parameters ?? []) as JsonSchema[]).filter(p => p.in === 'path')
      expect(declared.map(p => p.name).sort(), `${method} ${path}`).toEqual(inTemplate)
      for (const p of declared) expect(p.required, `${method} ${path} {${p.name}}`).toBe(true)
      const names = ((op.parameters ?? []) as JsonSchema[]).map(p => `${p.in}:${p.name}`)
      expect(new Set(names).size, `${method} ${path}: a parameter is declared twice`).toBe(names.length)
    }
  })

  it('documents each error code under its status from shared/errors.ts, as the error envelope', () => {
    for (const route of apiRoutes) {
      const op = doc.paths[route.path]![route.method]!
      const documented: string[] = []
      for (const [status, response] of Object.entries(op.responses as Record<string, JsonSchema>)) {
        const schema = (response.content as Record<string, { schema: JsonSchema }> | undefined)?.['application/json']?.schema
        const allOf = schema?.allOf as JsonSchema[] | undefined
        if (allOf?.[0]?.$ref !== '#/components/schemas/Error') continue
        const codes = ((((allOf[1]!.properties as JsonSchema).error as JsonSchema).properties as JsonSchema).code as JsonSchema).enum as (keyof typeof errorCodes)[]
        for (const code of codes) expect(errorCodes[code], `${route.operationId}: ${code}`).toBe(Number(status))
        documented.push(...codes)
      }
      expect(documented.sort(), route.operationId).toEqual([...routeErrors(route)].sort())
    }
  })

  it('takes who may call a route from the gateway: open routes need nothing, the rest a credential and 401/403', () => {
    const open = apiRoutes.filter(r => routeSecurity(r).open).map(r => `${r.method} ${r.path}`).sort()
    expect(open).toEqual(expect.arrayContaining(['get /api/health', 'get /api/openapi.json', 'get /api/ws', 'get /health']))
    for (const route of apiRoutes) {
      const op = doc.paths[route.path]![route.method]!
      const security = routeSecurity(route)
      expect(op.security, route.operationId).toEqual(security.open ? [] : expect.arrayContaining([{ bearer: [] }, { apiKey: [] }]))
      for (const requirement of op.security as Record<string, unknown>[]) {
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes[scheme], scheme).toBeDefined()
      }
      if (!security.open) expect(routeErrors(route), route.operationId).toEqual(expect.arrayContaining(['UNAUTHORIZED', 'FORBIDDEN']))
    }
    const keys = apiRoutes.find(r => r.operationId === 'createApiKey')!
    expect(routeSecurity(keys)).toEqual({ open: false, access: 'admin', roles: ['admin'] })
    expect(routeSecurity(apiRoutes.find(r => r.operationId === 'ingestEvents')!)).toMatchObject({ access: 'ingest' })
  })

  it('has an entry for every route file and a route file for every entry (no drift)', () => {
    const files = routeFiles()
    const registered = apiRoutes.map(r => `${r.method} ${r.path}`)
    const fromFiles = files.filter(f => f.method !== '*').map(f => `${f.method} ${f.path}`)
    // A file without a method answers any method: an entry with its path covers it.
    const anyMethod = files.filter(f => f.method === '*')
    const unregistered = [
      ...fromFiles.filter(r => !registered.includes(r)),
      ...anyMethod.filter(f => !apiRoutes.some(r => r.path === f.path)).map(f => `* ${f.path}`),
    ]
    const stale = registered.filter(r => !fromFiles.includes(r) && !anyMethod.some(f => r.endsWith(` ${f.path}`)))
    expect(unregistered, 'route files missing from apiRoutes (server/utils/openapi.ts)').toEqual([])
    expect(stale, 'apiRoutes entries without a route file').toEqual([])
    expect(files.length).toBeGreaterThan(20)
  })
})
