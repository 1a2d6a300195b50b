/**
 * The node-cluster build for the cluster tests, and HTTP requests that pin or spread
 * connections over its workers (the primary hands each new connection to the next worker).
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { join, resolve } from 'node:path'
import { repoRoot } from './server'

/** `SENECA_CLUSTER_OUTPUT_DIR` (default `.output-cluster`), built with NITRO_PRESET=node-cluster when missing. */
export function clusterEntry(): string {
  const dir = process.env.SENECA_CLUSTER_OUTPUT_DIR ? resolve(process.env.SENECA_CLUSTER_OUTPUT_DIR) : join(repoRoot, '.output-cluster')
  const entry = join(dir, 'server/index.mjs')
  if (existsSync(entry)) return entry
  const buildDir = process.env.SENECA_CLUSTER_BUILD_DIR ?? join(repoRoot, '.nuxt-cluster')
  const built = spawnSync('npx', ['nuxt', 'build'], {
    cwd: repoRoot,
    env: { ...process.env, NITRO_PRESET: 'node-cluster', SENECA_OUTPUT_DIR: dir, SENECA_BUILD_DIR: buildDir },
    encoding: 'utf8',
    timeout: 300_000,
  })
  if (built.status !== 0 || !existsSync(entry)) {
    throw new Error(`building the node-cluster output into ${dir} failed (exit ${built.status}):\n${(built.stderr || built.stdout || '').slice(-3000)}`)
  }
  return entry
}

export type Reply = { status: number, body: any, headers: Record<string, string | string[] | undefined> }

/**
 * Requests over one connection of their own, in order: they all reach the same worker.
 * `send` may be called several times; `close` ends the connection.
 */
export function pinnedConnection(base: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const send = (path: string, init: { method?: string, json?: unknown, token?: string } = {}) => new Promise<Reply>((ok, fail) => {
    const body = init.json === undefined ? undefined : JSON.stringify(init.json)
    const req = request(base + path, {
      agent,
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
      },
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        let parsed: any = text
        try {
          parsed = JSON.parse(text)
        }
        catch { /* not JSON */ }
        ok({ status: res.statusCode ?? 0, body: parsed, headers: res.headers })
      })
    })
    req.on('error', fail)
    req.end(body)
  })
  return { send, close: () => agent.destroy() }
}

/** Which worker a pinned connection reached, by its role in /health (`leader`, `follower`). */
export async function roleOf(conn: ReturnType<typeof pinnedConnection>): Promise<string> {
  const health = await conn.send('/health')
  return String(health.body?.services?.cluster)
}
