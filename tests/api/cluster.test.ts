/**
 * The node-cluster build with two workers on the machine's Redis: realtime events reach every
 * client whichever worker ingested them (once, in seq order), rate limits are counted across
 * workers, one worker leads, and the primary refuses to start without Redis. These tests fail,
 * never skip, when Redis is not reachable.
 */
import { spawnSync } from 'node:child_process'
import { cpSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterEntry, pinnedConnection, roleOf } from '../helpers/cluster'
import { assertRedisReachable, deleteKeys, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis'
import { mintTestToken, sessionA, startServer, tempDir, TEST_ADMIN_KEY, type TestServer, waitFor } from '../helpers/server'
import { WsClient } from '../helpers/ws-client'

let entry: string
let server: TestServer
let prefix: string
const clients: WsClient[] = []

const message = (project: string, i: number) => ({
  kind: 'message', project_id: project, conversation_id: `${project}-conv`, sender: 'worker-1', recipient: 'marcus', content: `message ${i}`,
})

/** Roles seen over `n` new connections (the primary hands them to the workers in turn). */
async function rolesSeenAt(url: string, n: number): Promise<Set<string>> {
  const roles = new Set<string>()
  for (let i = 0; i < n; i++) {
    const conn = pinnedConnection(url)
    roles.add(await roleOf(conn))
    conn.close()
  }
  return roles
}

const rolesSeen = (n: number) => rolesSeenAt(server.url, n)

beforeAll(async () => {
  await assertRedisReachable()
  entry = clusterEntry()
  prefix = uniquePrefix('cluster')
  server = await startServer({
    REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: prefix, NITRO_CLUSTER_WORKERS: '2',
    SENECA_RATE_LIMITS: 'on', SENECA_RATE_LIMIT_PER_MINUTE: '30', SENECA_INGEST_EVENTS_PER_MINUTE: '1000000',
  }, { entry })
  // Both workers are up and one of them has taken the lead.
  await waitFor(async () => {
    const roles = await rolesSeen(4)
    return roles.has('leader') && roles.has('follower')
  }, 30_000, 200)
}, 360_000)

afterAll(async () => {
  for (const c of clients) c.ws.terminate()
  await server?.dispose()
  if (prefix) await deleteKeys(prefix)
})

describe('node-cluster with two workers and Redis', () => {
  it('has exactly one leader, and the other worker follows', async () => {
    const roles = await rolesSeen(6)
    expect([...roles].sort()).toEqual(['follower', 'leader'])
  })

  it('delivers every event to clients on both workers exactly once and in seq order, whichever worker ingested it', async () => {
    const token = await mintTestToken({ role: 'viewer', projects: ['cl'] })
    for (let i = 0; i < 4; i++) {
      const client = await WsClient.ready(server.port, token)
      clients.push(client)
      await client.subscribe(['conversations'], { project_id: 'cl' })
    }
    // One ingest per new connection: every second one lands on the other worker.
    const ingestedBy: Record<string, number> = {}
    const seqs: number[] = []
    for (let i = 0; i < 30; i++) {
      const conn = pinnedConnection(server.url)
      const role = await roleOf(conn)
      const res = await conn.send('/api/ingest', { method: 'POST', token: TEST_ADMIN_KEY, json: { events: [message('cl', i)] } })
      conn.close()
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      ingestedBy[role] = (ingestedBy[role] ?? 0) + 1
      seqs.push(res.body.results[0].seq)
    }
    expect(ingestedBy.leader).toBeGreaterThan(0)
    expect(ingestedBy.follower).toBeGreaterThan(0)
    for (const client of clients) {
      await waitFor(() => client.seqs().length >= seqs.length, 10_000)
      await client.sync()
      expect(client.seqs()).toEqual(seqs)
    }
  })

  it('keeps one seq order for every client while both workers ingest at the same time', async () => {
    const token = await mintTestToken({ role: 'viewer', projects: ['par'] })
    const watchers: WsClient[] = []
    for (let i = 0; i < 4; i++) {
      const client = await WsClient.ready(server.port, token)
      clients.push(client)
      watchers.push(client)
      await client.subscribe(['conversations'], { project_id: 'par' })
    }
    // Four writers on four connections (two per worker), 10 batches of 20 each, all at once.
    const writers = Array.from({ length: 4 }, () => pinnedConnection(server.url))
    const roles = await Promise.all(writers.map(roleOf))
    expect(new Set(roles)).toEqual(new Set(['leader', 'follower']))
    const stored = (await Promise.all(writers.map(async (conn, w) => {
      const mine: number[] = []
      for (let b = 0; b < 10; b++) {
        const events = Array.from({ length: 20 }, (_, i) => message('par', w * 1000 + b * 20 + i))
        const res = await conn.send('/api/ingest', { method: 'POST', token: TEST_ADMIN_KEY, json: { events } })
        expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200)
        mine.push(...res.body.results.map((r: { seq: number }) => r.seq))
      }
      conn.close()
      return mine
    }))).flat().sort((a, b) => a - b)
    expect(stored).toHaveLength(800)
    for (const client of watchers) {
      await waitFor(() => client.seqs().length >= stored.length, 15_000)
      await client.sync()
      expect(client.seqs()).toEqual(stored)
    }
  })

  it('counts rate limits across workers: the budget is spent once, not once per worker', async () => {
    const token = await mintTestToken({ sub: 'rate-counter', role: 'viewer', projects: ['*'] })
    const statuses: number[] = []
    const servedBy = new Set<string>()
    for (let i = 0; i < 40; i++) {
      const conn = pinnedConnection(server.url)
      servedBy.add(await roleOf(conn))
      const res = await conn.send('/api/projects', { token })
      conn.close()
      statuses.push(res.status)
    }
    expect(servedBy).toEqual(new Set(['leader', 'follower']))
    expect(statuses.filter(s => s === 200)).toHaveLength(30)
    expect(statuses.filter(s => s === 429)).toHaveLength(10)
    expect(statuses.indexOf(429)).toBe(30)
  })

  it('shares the response cache: one worker serves what the other stored, and an ingest through either invalidates it', async () => {
    // One connection held open to each worker.
    const pinned: Record<string, ReturnType<typeof pinnedConnection>> = {}
    const opened: ReturnType<typeof pinnedConnection>[] = []
    for (let i = 0; i < 8 && !(pinned.leader && pinned.follower); i++) {
      const conn = pinnedConnection(server.url)
      opened.push(conn)
      pinned[await roleOf(conn)] ??= conn
    }
    expect(Object.keys(pinned).sort()).toEqual(['follower', 'leader'])
    const onLeader = pinned.leader!
    const onFollower = pinned.follower!
    const hits = async (conn: ReturnType<typeof pinnedConnection>) => {
      const metrics = String((await conn.send('/metrics')).body)
      return Number(/^cache_requests_total\{cache="conversation_analytics",result="hit"\} (\d+)/m.exec(metrics)?.[1] ?? 0)
    }
    const path = '/api/conversations/analytics?project_id=cache'
    const ingestOne = (conn: ReturnType<typeof pinnedConnection>, i: number) =>
      conn.send('/api/ingest', { method: 'POST', token: TEST_ADMIN_KEY, json: { events: [message('cache', i)] } })
    expect((await ingestOne(onLeader, 0)).status).toBe(200)
    const first = await onLeader.send(path, { token: TEST_ADMIN_KEY })
    expect(first.status).toBe(200)
    const hitsBefore = await hits(onFollower)
    const second = await onFollower.send(path, { token: TEST_ADMIN_KEY })
    expect(second.body).toEqual(first.body)
    expect(await hits(onFollower)).toBe(hitsBefore + 1)
    // An ingest through the follower; the leader's next answer counts it.
    expect((await ingestOne(onFollower, 1)).status).toBe(200)
    const third = await onLeader.send(path, { token: TEST_ADMIN_KEY })
    expect(third.body.total_messages).toBe(first.body.total_messages + 1)
    for (const conn of opened) conn.close()
  })

  it('drains on SIGTERM: every worker tells its clients server_restarting and the primary exits within 10 s', async () => {
    const token = await mintTestToken({ role: 'viewer', projects: ['*'] })
    const watchers = await Promise.all(Array.from({ length: 2 }, () => WsClient.ready(server.port, token)))
    clients.push(...watchers)
    const primary = server.child()!
    const exited = new Promise<{ code: number | null, ms: number }>((ok) => {
      const started = Date.now()
      primary.once('exit', code => ok({ code, ms: Date.now() - started }))
    })
    primary.kill('SIGTERM')
    const { code, ms } = await exited
    expect(code).toBe(0)
    expect(ms).toBeLessThan(10_000)
    for (const client of watchers) {
      const notice = await client.next('server_restarting')
      expect(notice.data).toEqual({ reason: 'shutdown', latest_seq: expect.any(Number), retry_after_ms: expect.any(Number), server_time: expect.any(String) })
      expect((await client.closed).code).toBe(1012)
    }
  })
})

describe('the Marcus log connector in a cluster', () => {
  let marcus: TestServer | undefined
  let marcusPrefix: string

  beforeAll(async () => {
    const root = tempDir('seneca-cluster-marcus-')
    cpSync(sessionA, root, { recursive: true })
    marcusPrefix = uniquePrefix('cluster-marcus')
    marcus = await startServer({
      REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: marcusPrefix, NITRO_CLUSTER_WORKERS: '2', MARCUS_ROOT: root, SENECA_MARCUS_POLL_MS: '100',
    }, { entry })
  }, 120_000)

  afterAll(async () => {
    await marcus?.dispose()
    if (marcusPrefix) await deleteKeys(marcusPrefix)
  })

  it('runs on the leader only, and the follower reports the leader\'s state', async () => {
    const server = marcus!
    // Each worker, by role: its connector state in /health and how often it ingested Marcus logs.
    const byRole = async () => {
      const seen: Record<string, { state: string, marcusIngests: number }> = {}
      for (let i = 0; i < 6; i++) {
        const conn = pinnedConnection(server.url)
        const health = await conn.send('/health')
        const metrics = await conn.send('/metrics')
        conn.close()
        const count = /^ingest_duration_seconds_count\{source="marcus-log"\} (\d+)/m.exec(String(metrics.body))
        seen[health.body.services.cluster] = { state: health.body.services.marcus_logs, marcusIngests: count ? Number(count[1]) : 0 }
      }
      return seen
    }
    const settled = await waitFor(async () => {
      const seen = await byRole()
      return seen.leader?.state === 'following' && seen.follower?.state === 'following' ? seen : undefined
    }, 60_000, 500)
    expect(settled.leader!.marcusIngests).toBeGreaterThan(0)
    expect(settled.follower!.marcusIngests).toBe(0)
  })
})

describe('leader failover', () => {
  it('passes the lead to the other worker within the lock\'s lifetime when the leader dies', async () => {
    const failPrefix = uniquePrefix('cluster-failover')
    const target = await startServer({
      REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: failPrefix, NITRO_CLUSTER_WORKERS: '2', SENECA_LEADER_TTL_MS: '3000',
    }, { entry })
    const redis = new Redis(SHARED_REDIS_URL)
    try {
      const holder = await waitFor(async () => (await redis.get(`${failPrefix}:leader`)) ?? undefined, 15_000, 100)
      // The lock names the leader as host:pid:random.
      const leaderPid = Number(holder.split(':')[1])
      expect(Number.isInteger(leaderPid)).toBe(true)
      process.kill(leaderPid, 'SIGKILL')
      const next = await waitFor(async () => {
        const value = await redis.get(`${failPrefix}:leader`)
        return value && value !== holder ? value : undefined
      }, 10_000, 100)
      expect(Number(next.split(':')[1])).not.toBe(leaderPid)
      // The primary replaced the dead worker, which follows.
      await waitFor(async () => {
        const roles = await rolesSeenAt(target.url, 4)
        return roles.has('leader') && roles.has('follower')
      }, 20_000, 200)
    }
    finally {
      redis.disconnect()
      await target.dispose()
      await deleteKeys(failPrefix)
    }
  })
})

describe('first start of a cluster', () => {
  it('has its workers agree on one generated JWT secret and create one admin key', async () => {
    const firstPrefix = uniquePrefix('cluster-first')
    const fresh = await startServer({
      REDIS_URL: SHARED_REDIS_URL, SENECA_REDIS_PREFIX: firstPrefix, NITRO_CLUSTER_WORKERS: '2', SENECA_JWT_SECRET: undefined, SENECA_ADMIN_KEY: undefined,
    }, { entry })
    try {
      // The second worker waits for the first one's migrations before it listens.
      await waitFor(async () => {
        const roles = await rolesSeenAt(fresh.url, 4)
        return roles.has('leader') && roles.has('follower')
      }, 30_000, 200)
      const secret = readFileSync(join(fresh.dataDir, 'jwt-secret'), 'utf8').trim()
      const token = await mintTestToken({ role: 'viewer', projects: ['*'], secret })
      const keys = await waitFor(() => {
        const printed = [...fresh.output().matchAll(/admin key: (\S+)/g)].map(m => m[1]!)
        return printed.length ? printed : undefined
      })
      const answers: Record<string, number[]> = {}
      for (let i = 0; i < 6; i++) {
        const conn = pinnedConnection(fresh.url)
        const role = await roleOf(conn)
        answers[role] = [...answers[role] ?? [], (await conn.send('/api/projects', { token })).status, (await conn.send('/api/projects', { token: keys[0] })).status]
        conn.close()
      }
      expect(Object.keys(answers).sort()).toEqual(['follower', 'leader'])
      expect(Object.values(answers).flat().every(status => status === 200)).toBe(true)
      expect(keys).toHaveLength(1)
    }
    finally {
      await fresh.dispose()
      await deleteKeys(firstPrefix)
    }
  })
})

describe('node-cluster without Redis', () => {
  it('refuses to start, saying why, instead of splitting state between workers', () => {
    const env: Record<string, string | undefined> = { ...process.env, SENECA_DATA_DIR: tempDir(), PORT: '0', HOST: '127.0.0.1', NITRO_CLUSTER_WORKERS: '2' }
    delete env.REDIS_URL
    const run = spawnSync(process.execPath, [entry], { env, encoding: 'utf8', timeout: 20_000 })
    expect(run.status).toBe(78)
    expect(run.stderr).toContain('set REDIS_URL')
    expect(run.stdout).not.toContain('Listening')
  })
})
