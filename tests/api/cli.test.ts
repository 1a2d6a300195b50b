/** The operator commands of the `seneca` binary, against a running server's data directory. */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { api, repoRoot, startServer, TEST_JWT_SECRET, type TestServer } from '../helpers/server'

const run = promisify(execFile)
let server: TestServer

function seneca(...args: string[]) {
  return run(process.execPath, [join(repoRoot, 'bin/seneca.mjs'), ...args], {
    env: { ...process.env, SENECA_DATA_DIR: server.dataDir, SENECA_JWT_SECRET: TEST_JWT_SECRET },
  })
}

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  await server?.dispose()
})

describe('seneca token and keys', () => {
  it('mints a token the server accepts, with its role and projects', async () => {
    const { stdout } = await seneca('token', '--role', 'viewer', '--projects', 'shop', '--sub', 'alice')
    const token = stdout.trim()
    expect((await api(server.url, '/api/conversations?project_id=shop', { auth: token })).status).toBe(200)
    expect((await api(server.url, '/api/conversations?project_id=other', { auth: token })).status).toBe(403)
  })

  it('creates, lists and revokes API keys', async () => {
    const { stdout } = await seneca('keys', 'create', '--role', 'member', '--projects', '*', '--name', 'ci')
    const key = /(sk_\S+)/.exec(stdout)![1]!
    const id = /(key_\w+)/.exec(stdout)![1]!
    expect((await api(server.url, '/api/tasks', { auth: key })).status).toBe(200)
    expect((await seneca('keys', 'list')).stdout).toMatch(new RegExp(`${id}.*member.*active.*ci`))
    await seneca('keys', 'revoke', id)
    expect((await api(server.url, '/api/tasks', { auth: key })).status).toBe(401)
  })

  it('explains a wrong role with exit code 2', async () => {
    const failed = await seneca('token', '--role', 'boss', '--projects', 'a').catch(e => e)
    expect(failed.code).toBe(2)
    expect(failed.stderr).toContain('--role must be one of')
  })
})
