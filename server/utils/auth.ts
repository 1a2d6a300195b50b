/**
 * Principals (ARCHITECTURE §5): JWT bearer tokens (HS256 only) and API keys (`sk_…`, stored
 * hashed), each with a role and a project scope. Used by the HTTP gateway and the WebSocket.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Statement } from 'better-sqlite3'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import { useConfig } from './config'
import { type Sqlite, useDatabase } from './db'

export const roles = ['admin', 'member', 'viewer', 'ingest'] as const
export type Role = (typeof roles)[number]

export type Principal = {
  /** `user:<sub>`, `key:<id>`. */
  id: string
  kind: 'jwt' | 'api_key'
  role: Role
  /** Project ids the principal may use; `'*'` for every project. */
  projects: string[] | '*'
  /** The token's expiry (epoch ms), for clients that must re-authenticate. */
  expiresAt?: number
}

export class AuthError extends Error {
  constructor(message: string, readonly reason: 'missing' | 'invalid' | 'expired' | 'revoked') {
    super(message)
  }
}

let secret: Uint8Array | undefined

/** SENECA_JWT_SECRET, or a secret generated into the data directory on first start. */
export function jwtSecret(): Uint8Array {
  if (secret) return secret
  const fromEnv = process.env.SENECA_JWT_SECRET
  if (fromEnv) {
    secret = new TextEncoder().encode(fromEnv)
    return secret
  }
  const dir = useConfig().dataDir
  const file = join(dir, 'jwt-secret')
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    // Several processes may start at once (the cluster build): the first whose complete file is
    // linked into place wins, the others read that one, so all of them sign with one secret.
    const draft = `${file}.${process.pid}.tmp`
    writeFileSync(draft, randomBytes(48).toString('base64url'), { mode: 0o600 })
    chmodSync(draft, 0o600)
    try {
      linkSync(draft, file)
    }
    catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    finally {
      rmSync(draft, { force: true })
    }
  }
  secret = new TextEncoder().encode(readFileSync(file, 'utf8').trim())
  return secret
}

/** Forget the cached secret and verified tokens (tests that change the environment). */
export function resetAuthCache() {
  secret = undefined
  verifiedTokens.clear()
}

/**
 * Tokens already verified: a client sends the same token with every request, and an HS256
 * check through WebCrypto (a thread-pool round trip, plus importing the key) was the biggest
 * cost of the whole gateway. A token is re-verified at least once a minute and never
 * accepted past its `exp`; JWTs cannot be revoked, so remembering a verdict changes nothing else.
 */
const verifiedTokens = new Map<string, { principal: Principal, until: number }>()
const VERIFIED_TOKEN_MS = 60_000
const VERIFIED_TOKENS_MAX = 10_000

export async function mintToken(claims: { sub: string, role: Role, projects: string[] | ['*'] }, expiresIn = '12h'): Promise<string> {
  return new SignJWT({ role: claims.role, projects: claims.projects })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(jwtSecret())
}

function projectsClaim(value: unknown): string[] | '*' | undefined {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) return undefined
  return value.includes('*') ? '*' : value as string[]
}

async function verifyJwt(token: string): Promise<Principal> {
  const known = verifiedTokens.get(token)
  if (known) {
    if (known.until > Date.now()) return { ...known.principal }
    verifiedTokens.delete(token)
  }
  const principal = await verifyJwtSignature(token)
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) verifiedTokens.clear()
  verifiedTokens.set(token, { principal: { ...principal }, until: Math.min(Date.now() + VERIFIED_TOKEN_MS, principal.expiresAt ?? Number.POSITIVE_INFINITY) })
  return principal
}

async function verifyJwtSignature(token: string): Promise<Principal> {
  try {
    const { payload } = await jwtVerify(token, jwtSecret(), { algorithms: ['HS256'] })
    const sub = typeof payload.sub === 'string' ? payload.sub : typeof payload.user_id === 'string' ? payload.user_id : undefined
    const role = roles.includes(payload.role as Role) ? payload.role as Role : undefined
    const projects = projectsClaim(payload.projects)
    if (!sub) throw new AuthError('The token has no subject (sub or user_id)', 'invalid')
    if (!role) throw new AuthError(`The token's role must be one of ${roles.join(', ')}`, 'invalid')
    if (!projects) throw new AuthError('The token\'s projects claim must be an array of project ids or ["*"]', 'invalid')
    return { id: `user:${sub}`, kind: 'jwt', role, projects, expiresAt: payload.exp ? payload.exp * 1000 : undefined }
  }
  catch (error) {
    if (error instanceof AuthError) throw error
    if (error instanceof joseErrors.JWTExpired) throw new AuthError('The token has expired', 'expired')
    throw new AuthError('The token is not valid (HS256 with this server\'s secret is required)', 'invalid')
  }
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

type KeyRow = { id: string, role: Role, projects: string, key_hash: string, revoked_at: number | null }

let keyLookup: { sqlite: Sqlite, statement: Statement } | undefined

/** The key lookup runs on every request made with a key: prepared once per connection. */
function keyStatement(): Statement {
  const { sqlite } = useDatabase()
  if (keyLookup?.sqlite !== sqlite) keyLookup = { sqlite, statement: sqlite.prepare('SELECT id, role, projects, key_hash, revoked_at FROM api_keys WHERE key_hash = ?') }
  return keyLookup.statement
}

function verifyApiKey(key: string): Principal {
  const hash = hashKey(key)
  const row = keyStatement().get(hash) as KeyRow | undefined
  if (!row || !timingSafeEqual(Buffer.from(row.key_hash), Buffer.from(hash))) throw new AuthError('Unknown API key', 'invalid')
  if (row.revoked_at) throw new AuthError('The API key has been revoked', 'revoked')
  return { id: `key:${row.id}`, kind: 'api_key', role: row.role, projects: projectsClaim(JSON.parse(row.projects)) ?? [] }
}

/** A bearer credential of either kind: `sk_…` is an API key, anything else a JWT. */
export async function authenticate(credential: string | undefined | null): Promise<Principal> {
  const token = credential?.trim()
  if (!token) throw new AuthError('Authentication required: send Authorization: Bearer <token or API key>', 'missing')
  return token.startsWith('sk_') ? verifyApiKey(token) : verifyJwt(token)
}

export function canUseProject(principal: Principal, projectId: string): boolean {
  return principal.projects === '*' || principal.projects.includes(projectId)
}

/**
 * The projects a query may touch: `null` means every project (admins and `["*"]` tokens),
 * otherwise the list goes into the SQL `WHERE project_id IN (…)`.
 */
export function projectScope(principal: Principal): string[] | null {
  return principal.projects === '*' ? null : principal.projects
}
