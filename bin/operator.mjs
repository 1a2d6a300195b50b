/**
 * Operator commands that work on the data directory directly (the server need not run):
 * minting JWTs with the instance's secret and managing API keys. The same formats as the
 * server: HS256 tokens with sub/role/projects; keys `sk_…` stored as SHA-256 hashes.
 */
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { SignJWT } from 'jose'

export const ROLES = ['admin', 'member', 'viewer', 'ingest']
const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..')

export function dataDir() {
  return resolve(process.env.SENECA_DATA_DIR || './data')
}

function secret() {
  if (process.env.SENECA_JWT_SECRET) return new TextEncoder().encode(process.env.SENECA_JWT_SECRET)
  const file = join(dataDir(), 'jwt-secret')
  if (!existsSync(file)) {
    mkdirSync(dataDir(), { recursive: true })
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 })
    chmodSync(file, 0o600)
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim())
}

function openDb() {
  mkdirSync(dataDir(), { recursive: true })
  const sqlite = new Database(join(dataDir(), 'seneca.db'))
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('busy_timeout = 5000')
  migrate(drizzle(sqlite), { migrationsFolder: process.env.SENECA_MIGRATIONS_DIR || join(appRoot, 'drizzle/migrations') })
  return sqlite
}

export function checkRole(role) {
  if (!ROLES.includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`)
  return role
}

export function parseProjects(value) {
  const projects = String(value ?? '').split(',').map(p => p.trim()).filter(Boolean)
  if (!projects.length) throw new UsageError('--projects needs project ids separated by commas, or *')
  return projects
}

export class UsageError extends Error {}

export async function mintToken({ sub, role, projects, expires }) {
  return new SignJWT({ role: checkRole(role), projects })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(secret())
}

export function createKey({ name, role, projects }) {
  const key = `sk_${randomBytes(32).toString('base64url')}`
  const id = `key_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`
  const sqlite = openDb()
  try {
    sqlite.prepare(`INSERT INTO api_keys (id, name, key_hash, prefix, role, projects, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, 'cli')`)
      .run(id, name, createHash('sha256').update(key).digest('hex'), key.slice(0, 10), checkRole(role), JSON.stringify(projects), Date.now())
    sqlite.prepare(`INSERT INTO audit_log (ts, principal, action, target, result) VALUES (?, 'cli', 'key.created', ?, 'success')`).run(Date.now(), id)
  }
  finally {
    sqlite.close()
  }
  return { id, key }
}

export function listKeys() {
  const sqlite = openDb()
  try {
    return sqlite.prepare('SELECT id, name, prefix, role, projects, created_at, revoked_at FROM api_keys ORDER BY created_at').all()
  }
  finally {
    sqlite.close()
  }
}

export function revokeKey(id) {
  const sqlite = openDb()
  try {
    const info = sqlite.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id)
    if (info.changes) sqlite.prepare(`INSERT INTO audit_log (ts, principal, action, target, result) VALUES (?, 'cli', 'key.revoked', ?, 'success')`).run(Date.now(), id)
    return info.changes > 0
  }
  finally {
    sqlite.close()
  }
}
