/**
 * Redis for the gateway tests: the machine's shared Redis (127.0.0.1:6379; every test run uses
 * its own key prefix and deletes its keys afterwards — never FLUSH*), and throwaway
 * redis-server processes on free ports that a test may kill and restart.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { freePort } from './server'

export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379'

/** A key prefix no other run uses. */
export function uniquePrefix(name: string): string {
  return `seneca-test:${name}:${process.pid}-${randomBytes(4).toString('hex')}`
}

/** Throws "Redis at … is not reachable" unless a PING answers within 2 s. */
export async function assertRedisReachable(url = SHARED_REDIS_URL) {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  client.on('error', () => { /* reported below */ })
  try {
    await client.connect()
    await client.ping()
  }
  catch (error) {
    throw new Error(`Redis at ${url.replace('redis://', '')} is not reachable (${(error as Error).message}); these tests need a running Redis`)
  }
  finally {
    client.disconnect()
  }
}

/** Deletes every key under `prefix` (SCAN + UNLINK), leaving everyone else's keys alone. */
export async function deleteKeys(prefix: string, url = SHARED_REDIS_URL) {
  const client = new Redis(url, { connectTimeout: 2000, maxRetriesPerRequest: 1 })
  client.on('error', () => { /* best effort */ })
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      cursor = next
      if (keys.length) await client.unlink(...keys)
    } while (cursor !== '0')
  }
  finally {
    client.disconnect()
  }
}

/** Keys under `prefix`. */
export async function listKeys(prefix: string, url = SHARED_REDIS_URL): Promise<string[]> {
  const client = new Redis(url, { connectTimeout: 2000, maxRetriesPerRequest: 1 })
  try {
    return await client.keys(`${prefix}:*`)
  }
  finally {
    client.disconnect()
  }
}

export type ThrowawayRedis = {
  url: string
  port: number
  /** SIGKILL: the connection drops as in a crash. */
  kill: () => Promise<void>
  /** Starts again on the same port (empty: nothing is saved). */
  start: () => Promise<void>
}

/** A redis-server of our own on a free port, without persistence. Fails clearly when the binary is missing. */
export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  if (which.status !== 0 || !which.stdout.trim()) {
    throw new Error('redis-server is not installed (needed to stop and restart a Redis mid-test; apt-get install redis-server)')
  }
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' })
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      try {
        await assertRedisReachable(`redis://127.0.0.1:${port}`)
        return
      }
      catch { /* not up yet */ }
      await new Promise(r => setTimeout(r, 50))
    }
    throw new Error(`redis-server on port ${port} did not start within 10 s`)
  }
  const kill = async () => {
    const c = child
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise<void>((ok) => {
      c.once('exit', () => ok())
      c.kill('SIGKILL')
    })
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, kill, start }
}
