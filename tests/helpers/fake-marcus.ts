/**
 * A fake Marcus for tests only: an MCP server built with the same SDK, Streamable HTTP with
 * stateful sessions on 127.0.0.1, answering with MARCUS.md's tool shapes from mutable state
 * the test changes. `kill()` drops it (connections included); `start()` brings it back on
 * the same port.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { z } from 'zod'
import { freePort } from './server'

export type FakeAgent = {
  id: string
  name: string
  role: string
  status: 'working' | 'available'
  skills: string[]
  current_tasks: { task_id: string, task_name: string }[]
  total_completed: number
}

export type FakeMarcusState = {
  agents: FakeAgent[]
  project: { id: string, name: string, provider: string, total_tasks: number, completed: number, in_progress: number, blocked: number, completion_percentage: number }
  metrics: { active_agents: number, total_agents: number, total_throughput: number, completed_tasks: number, average_task_duration: number, system_health: string }
}

export type FakeMarcus = {
  url: string
  port: number
  state: FakeMarcusState
  /** Every tool call received: name and arguments. */
  calls: { tool: string, args: Record<string, unknown> }[]
  start: () => Promise<void>
  kill: () => Promise<void>
}

const json = (body: unknown) => ({ content: [{ type: 'text' as const, text: JSON.stringify(body) }] })

export async function startFakeMarcus(initial: Partial<FakeMarcusState> = {}): Promise<FakeMarcus> {
  const port = await freePort()
  const state: FakeMarcusState = {
    agents: initial.agents ?? [],
    project: initial.project ?? { id: 'proj-fake', name: 'Fake project', provider: 'planka', total_tasks: 4, completed: 1, in_progress: 1, blocked: 0, completion_percentage: 25 },
    metrics: initial.metrics ?? { active_agents: 1, total_agents: 2, total_throughput: 3, completed_tasks: 1, average_task_duration: 2.5, system_health: 'healthy' },
  }
  const calls: FakeMarcus['calls'] = []
  let http: Server | undefined
  let transports = new Map<string, StreamableHTTPServerTransport>()

  const agentView = (a: FakeAgent) => ({ id: a.id, name: a.name, role: a.role, status: a.status, skills: a.skills, current_tasks: a.current_tasks, total_completed: a.total_completed })

  const mcpServer = () => {
    const server = new McpServer({ name: 'fake-marcus', version: '0.0.1' })
    const record = (tool: string, args: Record<string, unknown>) => calls.push({ tool, args })
    server.registerTool('authenticate', { inputSchema: { client_id: z.string(), client_type: z.string(), role: z.string() } }, async (args) => {
      record('authenticate', args)
      return json({ success: true, client_id: args.client_id, client_type: args.client_type, role: args.role })
    })
    server.registerTool('ping', { inputSchema: { echo: z.string().optional() } }, async (args) => {
      record('ping', args)
      return json({ success: true, status: 'online', provider: 'planka', echo: args.echo ?? '', timestamp: new Date().toISOString(), server_info: {} })
    })
    server.registerTool('list_registered_agents', {}, async () => {
      record('list_registered_agents', {})
      return json({ success: true, agents: state.agents.map(agentView), total: state.agents.length })
    })
    server.registerTool('get_agent_status', { inputSchema: { agent_id: z.string() } }, async (args) => {
      record('get_agent_status', args)
      const a = state.agents.find(x => x.id === args.agent_id)
      if (!a) return json({ success: false, error: `Agent ${args.agent_id} not found` })
      const current = a.current_tasks[0]
      return json({
        success: true, agent: { ...agentView(a), performance_score: 0.9 },
        ...(current ? { current_assignment: { task_id: current.task_id, task_name: current.task_name, assigned_at: new Date().toISOString() } } : {}),
      })
    })
    server.registerTool('get_project_status', {}, async () => {
      record('get_project_status', {})
      const active = state.agents.filter(a => a.status === 'working').length
      return json({ success: true, project: state.project, workers: { total: state.agents.length, active, available: state.agents.length - active } })
    })
    server.registerTool('get_system_metrics', { inputSchema: { time_window: z.string().optional() } }, async (args) => {
      record('get_system_metrics', args)
      return json({ success: true, metrics: state.metrics })
    })
    server.registerTool('unassign_task', { inputSchema: { agent_id: z.string(), task_id: z.string() } }, async (args) => {
      record('unassign_task', args)
      const a = state.agents.find(x => x.id === args.agent_id)
      if (!a) return json({ success: false, error: `Agent ${args.agent_id} not found` })
      a.current_tasks = a.current_tasks.filter(t => t.task_id !== args.task_id)
      if (a.current_tasks.length === 0) a.status = 'available'
      return json({ success: true, message: `Task ${args.task_id} unassigned from ${args.agent_id}` })
    })
    return server
  }

  const readBody = (req: IncomingMessage) => new Promise<unknown>((ok) => {
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      try {
        ok(raw ? JSON.parse(raw) : undefined)
      }
      catch {
        ok(undefined)
      }
    })
  })

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/mcp')) {
      res.writeHead(404).end()
      return
    }
    const body = req.method === 'POST' ? await readBody(req) : undefined
    const sessionId = req.headers['mcp-session-id']
    let transport = typeof sessionId === 'string' ? transports.get(sessionId) : undefined
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(body)) {
        res.writeHead(404, { 'content-type': 'application/json' })
          .end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }))
        return
      }
      const map = transports
      const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: id => void map.set(id, created),
      })
      created.onclose = () => {
        if (created.sessionId) map.delete(created.sessionId)
      }
      await mcpServer().connect(created)
      transport = created
    }
    await transport.handleRequest(req, res, body)
  }

  const fake: FakeMarcus = {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    state,
    calls,
    start: () => new Promise<void>((ok, fail) => {
      transports = new Map()
      http = createServer((req, res) => {
        handle(req, res).catch(() => {
          if (!res.headersSent) res.writeHead(500).end()
        })
      })
      http.once('error', fail)
      http.listen(port, '127.0.0.1', () => ok())
    }),
    kill: async () => {
      const h = http
      http = undefined
      if (!h) return
      for (const t of transports.values()) await t.close().catch(() => undefined)
      transports.clear()
      h.closeAllConnections()
      await new Promise<void>(ok => h.close(() => ok()))
    },
  }
  await fake.start()
  return fake
}
