/**
 * API keys: `sk_` + 32 random bytes, stored as a SHA-256 hash, shown once at creation.
 * Each has a role and a project scope; revoked keys stay listed.
 */
import { randomBytes } from 'node:crypto'
import { type Role, hashKey } from './auth'
import { useDatabase } from './db'
import { apiError } from './errors'
import { iso, newId } from './ids'

type KeyRow = { id: string, name: string, prefix: string, role: Role, projects: string, created_at: number, created_by: string | null, last_used_at: number | null, revoked_at: number | null }

function keyView(r: KeyRow) {
  return {
    id: r.id, name: r.name, prefix: r.prefix, role: r.role, projects: JSON.parse(r.projects) as string[],
    created_at: iso(r.created_at), created_by: r.created_by, revoked_at: iso(r.revoked_at), active: r.revoked_at === null,
  }
}

export function generateKey(): string {
  return `sk_${randomBytes(32).toString('base64url')}`
}

/** Stores a key (a new random one unless `secret` is given) and returns it with its secret. */
export function createApiKey(input: { name: string, role: Role, projects: string[], createdBy?: string, secret?: string }) {
  const key = input.secret ?? generateKey()
  if (!/^sk_[\w-]{20,200}$/.test(key)) throw apiError('VALIDATION_FAILED', 'An API key is sk_ followed by at least 20 letters, digits, - or _')
  const id = newId('key')
  const now = Date.now()
  try {
    useDatabase().sqlite.prepare(`INSERT INTO api_keys (id, name, key_hash, prefix, role, projects, created_at, created_by)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(id, input.name, hashKey(key), key.slice(0, 10), input.role, JSON.stringify(input.projects), now, input.createdBy ?? null)
  }
  catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw apiError('CONFLICT', 'That API key already exists')
    throw error
  }
  const row = useDatabase().sqlite.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow
  return { ...keyView(row), key }
}

export function listApiKeys() {
  const rows = useDatabase().sqlite.prepare('SELECT * FROM api_keys ORDER BY created_at DESC, id').all() as KeyRow[]
  return { keys: rows.map(keyView), total: rows.length }
}

export function revokeApiKey(id: string) {
  const { sqlite } = useDatabase()
  const info = sqlite.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(Date.now(), id)
  const row = sqlite.prepare('SELECT * FROM api_keys WHERE id = ?').get(id) as KeyRow | undefined
  if (!row) throw apiError('KEY_NOT_FOUND', `API key '${id}' does not exist`, { key_id: id })
  return { ...keyView(row), revoked_now: info.changes > 0 }
}

/** Admin keys ever created, revoked ones included. */
export function countAdminKeys(): number {
  return (useDatabase().sqlite.prepare(`SELECT count(*) AS n FROM api_keys WHERE role = 'admin'`).get() as { n: number }).n
}
