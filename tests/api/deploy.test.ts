/**
 * The node-server build deployed as the README says: the output folder copied to a fresh
 * directory, far from the repository and its node_modules, started with `node
 * server/index.mjs` and no configuration at all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { cpSync, existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { api, freePort, serverEntry, tempDir, waitFor } from '../helpers/server'

let child: ChildProcess | undefined
const dirs: string[] = []

afterAll(async () => {
  if (child && child.exitCode === null) {
    await new Promise<void>((ok) => {
      child!.once('exit', () => ok())
      child!.kill('SIGTERM')
    })
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('node-server deploy from a fresh directory', () => {
  it('runs from a copied output folder with no configuration: creates its data, prints the admin key, ingests, stops cleanly', async () => {
    const output = dirname(dirname(serverEntry))
    const fresh = tempDir('seneca-deploy-')
    const workdir = tempDir('seneca-deploy-cwd-')
    dirs.push(fresh, workdir)
    cpSync(output, join(fresh, 'seneca'), { recursive: true })
    const port = await freePort()
    // Nothing of the test runner's Seneca or Redis settings leaks in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SENECA_') && !k.startsWith('NITRO_') && !k.startsWith('MARCUS_') && k !== 'REDIS_URL'))
    let log = ''
    child = spawn(process.execPath, [join(fresh, 'seneca/server/index.mjs')], {
      cwd: workdir, env: { ...env, NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
    const url = `http://127.0.0.1:${port}`
    await waitFor(async () => (await fetch(`${url}/health`)).status === 200, 30_000, 100).catch((error) => {
      throw new Error(`${(error as Error).message}\n${log}`)
    })
    const health = await api(url, '/health', { auth: false })
    expect(health.body.services).toMatchObject({ database: 'healthy', cluster: 'single process' })
    // The default data directory is ./data under the working directory.
    expect(existsSync(join(workdir, 'data/seneca.db'))).toBe(true)
    const key = await waitFor(() => /admin key: (\S+)/.exec(log)?.[1], 5000)
    const stored = await api(url, '/api/ingest', {
      method: 'POST', auth: key,
      json: { events: [{ kind: 'message', project_id: 'deploy', conversation_id: 'deploy-c', sender: 'a', recipient: 'b', content: 'hello from a fresh directory' }] },
    })
    expect(stored.status).toBe(200)
    expect(stored.body.stored).toBe(1)
    expect((await api(url, '/api/conversations?project_id=deploy', { auth: key })).body.conversations).toHaveLength(1)

    const started = Date.now()
    const code = await new Promise<number | null>((ok) => {
      child!.once('exit', c => ok(c))
      child!.kill('SIGTERM')
    })
    expect(code).toBe(0)
    expect(Date.now() - started).toBeLessThan(10_000)
  }, 60_000)
})
