/**
 * Projections: the only code that writes domain tables. Each stored event is applied here,
 * inside the ingest transaction, with prepared statements (the ingest path is the hot path).
 * Projections are order-tolerant where they can be: an older event never overwrites newer state.
 */
import type { Statement } from 'better-sqlite3'
import type { IngestEvent, IngestEventOf } from '../../shared/events'
import { CostProjector } from './costs-projection'
import type { Sqlite } from './db'

const HOUR = 3_600_000

type ConversationRow = {
  participants: string
  message_count: number
  error_count: number
  started_at: number
  pending_sender: string | null
  pending_at: number | null
  last_activity: number
}

/** A conversation as the batch leaves it; written once when the batch is flushed. */
type ConversationState = {
  isNew: boolean
  projectId: string
  agentId: string
  type: string
  title: string | null
  participants: string[]
  messageCount: number
  errorCount: number
  startedAt: number
  lastActivity: number
  pendingSender: string | null
  pendingAt: number | null
}

type Rollup = { projectId: string, agentId: string, hour: number, messages: number, errors: number, responses: number, responseMsSum: number }

/** Message types that answer and never ask: they close a pending request but open none. */
export const ANSWER_MESSAGE_TYPES = new Set(['response', 'error', 'failure'])

/** Message types counted as errors by the analytics. */
export const ERROR_MESSAGE_TYPES = new Set(['error', 'failure'])

export function normaliseTaskStatus(status: string | undefined): IngestEventOf<'task.upserted'>['status'] {
  if (status === 'completed') return 'done'
  if (status === 'in-progress') return 'in_progress'
  return status as IngestEventOf<'task.upserted'>['status']
}

/** The thread a message belongs to when the client names none. */
export function directConversationId(projectId: string, sender: string, recipient: string | undefined): string {
  const pair = recipient ? [sender, recipient].sort().join('+') : sender
  return `dm:${projectId}:${pair}`
}

export class Projector {
  private readonly st: Record<string, Statement>
  private readonly knownProjects = new Set<string>()
  private rollups = new Map<string, Rollup>()
  /**
   * Write-behind state of the batch: many messages of one batch go to few conversations,
   * agents and projects, so their rows are written once per batch instead of once per
   * message (each conversation update rewrites three index entries).
   */
  private conversations = new Map<string, ConversationState>()
  private agentActivity = new Map<string, number>()
  private projectActivity = new Map<string, number>()
  private readonly costs: CostProjector

  constructor(private readonly sqlite: Sqlite) {
    this.costs = new CostProjector(sqlite)
    const p = (sql: string) => sqlite.prepare(sql)
    this.st = {
      ensureProject: p(`INSERT OR IGNORE INTO projects (id, name, status, created_at, updated_at) VALUES (?, ?, 'active', ?, ?)`),
      upsertProject: p(`INSERT INTO projects (id, name, description, status, provider, tags, template, configuration, team_requirements, due_at, created_at, updated_at)
        VALUES (@id, @name, @description, coalesce(@status, 'active'), @provider, @tags, @template, @configuration, @team, @dueAt, @ts, @ts)
        ON CONFLICT(id) DO UPDATE SET name = excluded.name,
          description = coalesce(excluded.description, description),
          status = coalesce(@status, status), provider = coalesce(excluded.provider, provider),
          tags = coalesce(excluded.tags, tags), template = coalesce(excluded.template, template),
          configuration = coalesce(excluded.configuration, configuration), team_requirements = coalesce(excluded.team_requirements, team_requirements),
          due_at = coalesce(excluded.due_at, due_at), updated_at = max(updated_at, excluded.updated_at)`),
      setFeatures: p(`UPDATE projects SET features = @features, updated_at = max(updated_at, @ts) WHERE id = @id`),
      touchProject: p(`UPDATE projects SET updated_at = max(updated_at, ?) WHERE id = ?`),
      getConversation: p(`SELECT participants, message_count, error_count, started_at, pending_sender, pending_at, last_activity FROM conversations WHERE id = ?`),
      insertConversation: p(`INSERT INTO conversations (id, project_id, agent_id, participants, type, title, started_at, last_activity, message_count, error_count, pending_sender, pending_at)
        VALUES (@id, @projectId, @agentId, @participants, @type, @title, @startedAt, @lastActivity, @messageCount, @errorCount, @pendingSender, @pendingAt)`),
      updateConversation: p(`UPDATE conversations SET participants = @participants, last_activity = @lastActivity,
        started_at = @startedAt, message_count = @messageCount, error_count = @errorCount,
        pending_sender = @pendingSender, pending_at = @pendingAt WHERE id = @id`),
      insertParticipant: p(`INSERT OR IGNORE INTO conversation_participants (participant, conversation_id, project_id) VALUES (?, ?, ?)`),
      insertMessage: p(`INSERT INTO messages (id, conversation_id, project_id, sender, recipient, content, message_type, ts, metadata, response_time_ms, event_seq)
        VALUES (@id, @conversationId, @projectId, @sender, @recipient, @content, @messageType, @ts, @metadata, @responseTimeMs, @eventSeq)`),
      messageTs: p(`SELECT ts, sender FROM messages WHERE id = ?`),
      upsertRollup: p(`INSERT INTO message_rollups (project_id, agent_id, hour, messages, errors, responses, response_ms_sum)
        VALUES (@projectId, @agentId, @hour, @messages, @errors, @responses, @responseMsSum)
        ON CONFLICT(project_id, hour, agent_id) DO UPDATE SET messages = messages + excluded.messages,
          errors = errors + excluded.errors, responses = responses + excluded.responses,
          response_ms_sum = response_ms_sum + excluded.response_ms_sum`),
      touchAgent: p(`UPDATE agents SET last_active_at = max(last_active_at, ?) WHERE id = ?`),
      getAgent: p(`SELECT id, status, current_task_id, last_active_at FROM agents WHERE id = ?`),
      upsertAgent: p(`INSERT INTO agents (id, project_id, name, type, capabilities, status, registered_at, last_active_at, metadata)
        VALUES (@id, @projectId, @name, @type, @capabilities, 'idle', @ts, @ts, @metadata)
        ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, name = coalesce(@nameGiven, name),
          type = coalesce(excluded.type, type), capabilities = coalesce(@capabilitiesGiven, capabilities),
          metadata = coalesce(excluded.metadata, metadata), last_active_at = max(last_active_at, excluded.last_active_at),
          registered_at = min(registered_at, excluded.registered_at),
          status = CASE WHEN status = 'unavailable' THEN 'idle' ELSE status END`),
      ensureAgent: p(`INSERT OR IGNORE INTO agents (id, project_id, name, status, registered_at, last_active_at) VALUES (?, ?, ?, 'idle', ?, ?)`),
      heartbeat: p(`UPDATE agents SET last_heartbeat_at = max(coalesce(last_heartbeat_at, 0), @ts), last_active_at = max(last_active_at, @ts),
        status = CASE WHEN @status IS NOT NULL THEN @status WHEN status = 'unavailable' THEN CASE WHEN current_task_id IS NULL THEN 'idle' ELSE 'busy' END ELSE status END,
        status_reason = CASE WHEN @status IS NOT NULL OR status = 'unavailable' THEN NULL ELSE status_reason END,
        metadata = CASE WHEN @metrics IS NULL THEN metadata ELSE json_set(coalesce(metadata, '{}'), '$.load', json(@load), '$.metrics', json(@metrics)) END
        WHERE id = @id`),
      setAgentStatus: p(`UPDATE agents SET status = @status, status_reason = @reason, paused = CASE WHEN @status = 'paused' THEN 1 WHEN @status IN ('active','idle','busy') THEN 0 ELSE paused END WHERE id = @id`),
      agentBusy: p(`UPDATE agents SET status = CASE WHEN paused THEN 'paused' ELSE 'busy' END, current_task_id = @taskId, project_id = @projectId, last_active_at = max(last_active_at, @ts) WHERE id = @id`),
      agentReleased: p(`UPDATE agents SET status = CASE WHEN paused THEN 'paused' WHEN status IN ('busy','active') THEN 'idle' ELSE status END, current_task_id = NULL,
        tasks_completed = tasks_completed + @completed, tasks_failed = tasks_failed + @failed WHERE id = @id AND (current_task_id = @taskId OR current_task_id IS NULL)`),
      agentError: p(`UPDATE agents SET error_count = error_count + 1 WHERE id = ?`),
      getTask: p(`SELECT id, status, assigned_agent_id, started_at, updated_at FROM tasks WHERE id = ?`),
      upsertTask: p(`INSERT INTO tasks (id, project_id, name, description, status, priority, estimated_hours, labels, due_at, created_at, updated_at)
        VALUES (@id, @projectId, @name, @description, coalesce(@status, 'todo'), @priority, @estimatedHours, coalesce(@labels, '[]'), @dueAt, @ts, @ts)
        ON CONFLICT(id) DO UPDATE SET name = coalesce(@nameGiven, name), description = coalesce(excluded.description, description),
          status = CASE WHEN @status IS NOT NULL AND excluded.updated_at >= updated_at THEN @status ELSE status END,
          priority = coalesce(excluded.priority, priority), estimated_hours = coalesce(excluded.estimated_hours, estimated_hours),
          labels = coalesce(@labels, labels), due_at = coalesce(excluded.due_at, due_at), updated_at = max(updated_at, excluded.updated_at)`),
      assignTask: p(`UPDATE tasks SET assigned_agent_id = @agentId, status = 'in_progress', started_at = coalesce(started_at, @ts), completed_at = NULL, updated_at = max(updated_at, @ts) WHERE id = @id`),
      progressTask: p(`UPDATE tasks SET progress = coalesce(@progress, progress), status = coalesce(@status, status),
        completed_at = CASE WHEN @status = 'done' THEN @ts ELSE completed_at END,
        started_at = coalesce(started_at, @ts), assigned_agent_id = coalesce(assigned_agent_id, @agentId), updated_at = max(updated_at, @ts) WHERE id = @id`),
      blockTask: p(`UPDATE tasks SET status = 'blocked', updated_at = max(updated_at, @ts) WHERE id = @id AND status <> 'done'`),
      deleteDeps: p(`DELETE FROM task_dependencies WHERE task_id = ?`),
      insertDep: p(`INSERT OR IGNORE INTO task_dependencies (task_id, depends_on, project_id) VALUES (?, ?, ?)`),
      history: p(`INSERT INTO task_history (task_id, project_id, agent_id, action, status, progress, note, ts, event_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertBlocker: p(`INSERT INTO blockers (id, project_id, task_id, agent_id, severity, description, suggested_solutions, status, reported_at)
        VALUES (@id, @projectId, @taskId, @agentId, @severity, @description, @solutions, 'open', @ts)`),
      resolveBlocker: p(`UPDATE blockers SET status = 'resolved', resolved_at = @ts, resolution = @resolution WHERE id = @id AND status = 'open'`),
      resolveTaskBlockers: p(`UPDATE blockers SET status = 'resolved', resolved_at = @ts, resolution = @resolution WHERE task_id = @taskId AND status = 'open' AND reported_at <= @ts`),
      insertDecision: p(`INSERT OR REPLACE INTO decisions (id, project_id, agent_id, task_id, decision, rationale, alternatives, confidence, factors, ts)
        VALUES (@id, @projectId, @agentId, @taskId, @decision, @rationale, @alternatives, @confidence, @factors, @ts)`),
      insertArtifact: p(`INSERT OR REPLACE INTO artifacts (id, project_id, task_id, agent_id, name, artifact_type, location, description, ts)
        VALUES (@id, @projectId, @taskId, @agentId, @name, @artifactType, @location, @description, @ts)`),
      insertCommand: p(`INSERT INTO agent_commands (id, agent_id, project_id, command, parameters, status, issued_by, created_at, updated_at, expires_at)
        VALUES (@id, @agentId, @projectId, @command, @parameters, 'pending', @issuedBy, @ts, @ts, @expiresAt)`),
      getCommand: p(`SELECT id, agent_id, command, parameters, status FROM agent_commands WHERE id = ?`),
      updateCommand: p(`UPDATE agent_commands SET status = @status, result = coalesce(@result, result), updated_at = max(updated_at, @ts) WHERE id = @id`),
      pauseAgent: p(`UPDATE agents SET paused = @paused, status = CASE WHEN @paused THEN 'paused' WHEN current_task_id IS NULL THEN 'idle' ELSE 'busy' END,
        status_reason = @reason WHERE id = @id`),
      setCapabilities: p(`UPDATE agents SET capabilities = @capabilities WHERE id = @id`),
      clearQueue: p(`UPDATE tasks SET assigned_agent_id = NULL, updated_at = max(updated_at, @ts) WHERE assigned_agent_id = @id AND status = 'todo'`),
      insertAlert: p(`INSERT OR REPLACE INTO alerts (id, project_id, severity, type, message, subject_id, details, ts) VALUES (@id, @projectId, @severity, @type, @message, @subjectId, @details, @ts)`),
    }
  }

  /** Forget in-memory state after a rolled-back transaction or savepoint. */
  reset() {
    this.knownProjects.clear()
    this.discard()
  }

  /** Drops what the batch has not written yet (its transaction or savepoint is rolled back). */
  discard() {
    this.rollups.clear()
    this.conversations.clear()
    this.agentActivity.clear()
    this.projectActivity.clear()
    this.costs.discard()
  }

  /** Writes the batch's write-behind state; call before the transaction (or savepoint) ends. */
  flush() {
    for (const r of this.rollups.values()) this.st.upsertRollup!.run(r)
    for (const [id, c] of this.conversations) {
      const row = {
        id, projectId: c.projectId, agentId: c.agentId, participants: JSON.stringify(c.participants), type: c.type, title: c.title,
        startedAt: c.startedAt, lastActivity: c.lastActivity, messageCount: c.messageCount, errorCount: c.errorCount,
        pendingSender: c.pendingSender, pendingAt: c.pendingAt,
      }
      if (c.isNew) this.st.insertConversation!.run(row)
      else this.st.updateConversation!.run(row)
    }
    for (const [id, ts] of this.agentActivity) this.st.touchAgent!.run(ts, id)
    for (const [id, ts] of this.projectActivity) this.st.touchProject!.run(ts, id)
    this.costs.flush()
    this.discard()
  }

  private conversation(id: string, e: IngestEventOf<'message'> & { ts: number, project_id: string }): ConversationState {
    let c = this.conversations.get(id)
    if (c) return c
    const row = this.st.getConversation!.get(id) as ConversationRow | undefined
    c = row
      ? {
          isNew: false, projectId: e.project_id, agentId: '', type: '', title: null, participants: JSON.parse(row.participants) as string[],
          messageCount: row.message_count, errorCount: row.error_count, startedAt: row.started_at, lastActivity: row.last_activity,
          pendingSender: row.pending_sender, pendingAt: row.pending_at,
        }
      : {
          isNew: true, projectId: e.project_id, agentId: e.agent_id ?? e.sender, type: e.conversation_type ?? 'direct', title: e.conversation_title ?? null,
          participants: [], messageCount: 0, errorCount: 0, startedAt: e.ts, lastActivity: e.ts, pendingSender: null, pendingAt: null,
        }
    this.conversations.set(id, c)
    return c
  }

  private touch(map: Map<string, number>, id: string, ts: number) {
    const known = map.get(id)
    if (known === undefined || ts > known) map.set(id, ts)
  }

  /** Applies one stored event. Returns what it derived, for the realtime hub. */
  apply(e: IngestEvent & { id: string, ts: number, project_id: string }, seq: number): Record<string, unknown> | undefined {
    this.ensureProject(e.project_id, e.ts)
    switch (e.kind) {
      case 'project.upserted': return this.project(e)
      case 'project.features.updated':
        this.st.setFeatures!.run({ id: e.project_id, features: JSON.stringify(e.features), ts: e.ts })
        return { project_id: e.project_id, features: e.features }
      case 'agent.registered': return this.agentRegistered(e)
      case 'agent.heartbeat': return this.heartbeat(e)
      case 'agent.status': {
        this.ensureAgent(e.agent_id, e.project_id, e.ts)
        const before = this.st.getAgent!.get(e.agent_id) as { status: string }
        this.st.setAgentStatus!.run({ id: e.agent_id, status: e.status, reason: e.reason ?? null })
        return { agent_id: e.agent_id, status: e.status, previous_status: before.status, reason: e.reason ?? null }
      }
      case 'message': return this.message(e, seq)
      case 'task.upserted': return this.taskUpserted(e, seq)
      case 'task.assigned': return this.taskAssigned(e, seq)
      case 'task.progress': return this.taskProgress(e, seq)
      case 'blocker.reported': return this.blockerReported(e, seq)
      case 'blocker.resolved':
        if (e.blocker_id) this.st.resolveBlocker!.run({ id: e.blocker_id, ts: e.ts, resolution: e.resolution ?? null })
        else this.st.resolveTaskBlockers!.run({ taskId: e.task_id, ts: e.ts, resolution: e.resolution ?? null })
        return undefined
      case 'decision.logged':
        this.st.insertDecision!.run({
          id: e.decision_id ?? e.id, projectId: e.project_id, agentId: e.agent_id ?? null, taskId: e.task_id ?? null,
          decision: e.decision, rationale: e.rationale ?? null, alternatives: jsonOrNull(e.alternatives),
          confidence: e.confidence ?? null, factors: jsonOrNull(e.factors), ts: e.ts,
        })
        if (e.agent_id) this.touch(this.agentActivity, e.agent_id, e.ts)
        return undefined
      case 'artifact.logged':
        this.st.insertArtifact!.run({
          id: e.artifact_id ?? e.id, projectId: e.project_id, taskId: e.task_id ?? null, agentId: e.agent_id ?? null,
          name: e.name, artifactType: e.artifact_type ?? null, location: e.location ?? null, description: e.description ?? null, ts: e.ts,
        })
        return undefined
      case 'cost.usage': return this.costs.apply(e)
      case 'alert.raised':
        this.st.insertAlert!.run({
          id: e.alert_id ?? e.id, projectId: e.project_id, severity: e.severity, type: e.type, message: e.message,
          subjectId: e.subject_id ?? null, details: jsonOrNull(e.details), ts: e.ts,
        })
        return undefined
      case 'command.issued': return this.commandIssued(e)
      case 'command.updated': return this.commandUpdated(e)
      case 'generic':
        if (e.agent_id) this.touch(this.agentActivity, e.agent_id, e.ts)
        return undefined
      case 'pipeline.defined': return this.pipelineDefined(e)
      case 'pipeline.run.started': return this.pipelineRunStarted(e)
      case 'pipeline.stage.updated': return this.pipelineStageUpdated(e)
      case 'pipeline.run.finished': return this.pipelineRunFinished(e)
    }
  }

  private ensureProject(projectId: string, ts: number) {
    if (this.knownProjects.has(projectId)) return
    this.st.ensureProject!.run(projectId, projectId === 'default' ? 'Default' : projectId, ts, ts)
    this.knownProjects.add(projectId)
  }

  private ensureAgent(agentId: string, projectId: string, ts: number) {
    this.st.ensureAgent!.run(agentId, projectId, agentId, ts, ts)
  }

  private commandIssued(e: IngestEventOf<'command.issued'> & { id: string, ts: number, project_id: string }) {
    const commandId = e.command_id ?? e.id
    this.ensureAgent(e.agent_id, e.project_id, e.ts)
    this.st.insertCommand!.run({
      id: commandId, agentId: e.agent_id, projectId: e.project_id, command: e.command, parameters: jsonOrNull(e.parameters),
      issuedBy: e.issued_by ?? null, ts: e.ts, expiresAt: e.expires_at ?? null,
    })
    return { command_id: commandId, agent_id: e.agent_id, command: e.command, parameters: e.parameters ?? {}, status: 'pending' }
  }

  /** Acknowledged commands change Seneca's view of the agent: a paused agent gets no new work. */
  private commandUpdated(e: IngestEventOf<'command.updated'> & { ts: number }) {
    const cmd = this.st.getCommand!.get(e.command_id) as { agent_id: string, command: string, parameters: string | null, status: string } | undefined
    if (!cmd) throw Object.assign(new Error(`unknown command ${e.command_id}`), { code: 'COMMAND_NOT_FOUND' })
    const final = ['acknowledged', 'failed', 'expired']
    if (final.includes(cmd.status)) return { command_id: e.command_id, agent_id: cmd.agent_id, status: cmd.status, unchanged: true }
    this.st.updateCommand!.run({ id: e.command_id, status: e.status, result: jsonOrNull(e.result), ts: e.ts })
    if (e.status === 'acknowledged') {
      const params = cmd.parameters ? JSON.parse(cmd.parameters) as Record<string, unknown> : {}
      const reason = typeof params.reason === 'string' ? params.reason : null
      if (cmd.command === 'pause_processing') this.st.pauseAgent!.run({ id: cmd.agent_id, paused: 1, reason })
      else if (cmd.command === 'resume_processing') this.st.pauseAgent!.run({ id: cmd.agent_id, paused: 0, reason: null })
      else if (cmd.command === 'update_capabilities' && Array.isArray(params.capabilities)) {
        this.st.setCapabilities!.run({ id: cmd.agent_id, capabilities: JSON.stringify(params.capabilities.filter(c => typeof c === 'string')) })
      }
      else if (cmd.command === 'clear_queue') this.st.clearQueue!.run({ id: cmd.agent_id, ts: e.ts })
    }
    return { command_id: e.command_id, agent_id: cmd.agent_id, command: cmd.command, status: e.status, result: e.result ?? null }
  }

  private project(e: IngestEventOf<'project.upserted'> & { ts: number }) {
    this.st.upsertProject!.run({
      id: e.project_id, name: e.name, description: e.description ?? null, status: e.status ?? null,
      provider: e.provider ?? null, tags: jsonOrNull(e.tags), template: e.template ?? null,
      configuration: jsonOrNull(e.configuration), team: jsonOrNull(e.team_requirements), dueAt: e.due_at ?? null, ts: e.ts,
    })
    return { project_id: e.project_id, name: e.name }
  }

  private agentRegistered(e: IngestEventOf<'agent.registered'> & { ts: number, project_id: string }) {
    this.st.upsertAgent!.run({
      id: e.agent_id, projectId: e.project_id, name: e.name ?? e.agent_id, nameGiven: e.name ?? null,
      type: e.type ?? null, capabilities: JSON.stringify(e.capabilities ?? []), capabilitiesGiven: jsonOrNull(e.capabilities),
      metadata: jsonOrNull(e.metadata), ts: e.ts,
    })
    return { agent_id: e.agent_id }
  }

  private heartbeat(e: IngestEventOf<'agent.heartbeat'> & { ts: number, project_id: string }) {
    this.ensureAgent(e.agent_id, e.project_id, e.ts)
    const before = this.st.getAgent!.get(e.agent_id) as { status: string }
    this.st.heartbeat!.run({
      id: e.agent_id, ts: e.ts, status: e.status ?? null,
      load: e.load === undefined ? 'null' : String(e.load), metrics: e.metrics === undefined && e.load === undefined ? null : JSON.stringify(e.metrics ?? {}),
    })
    const after = this.st.getAgent!.get(e.agent_id) as { status: string }
    return after.status === before.status ? undefined : { agent_id: e.agent_id, status: after.status, previous_status: before.status }
  }

  private message(e: IngestEventOf<'message'> & { id: string, ts: number, project_id: string }, seq: number) {
    const conversationId = e.conversation_id ?? directConversationId(e.project_id, e.sender, e.recipient)
    const messageId = e.message_id ?? e.id
    const isError = ERROR_MESSAGE_TYPES.has(e.message_type) ? 1 : 0
    const conv = this.conversation(conversationId, e)

    // Response pairing: the first unanswered message that is not itself an answer opens a
    // request, the first message from another participant answers it. in_reply_to wins.
    let responseTimeMs: number | null = null
    if (e.in_reply_to) {
      const req = this.st.messageTs!.get(e.in_reply_to) as { ts: number } | undefined
      if (req && e.ts >= req.ts) responseTimeMs = e.ts - req.ts
    }
    if (conv.pendingSender !== null && conv.pendingSender !== e.sender && conv.pendingAt !== null && e.ts >= conv.pendingAt) {
      responseTimeMs ??= e.ts - conv.pendingAt
      conv.pendingSender = null
      conv.pendingAt = null
    }
    else if (conv.pendingSender === null && !ANSWER_MESSAGE_TYPES.has(e.message_type)) {
      conv.pendingSender = e.sender
      conv.pendingAt = e.ts
    }
    const newcomers = [e.sender, e.recipient].filter((p): p is string => !!p && !conv.participants.includes(p))
    conv.participants.push(...newcomers)
    conv.messageCount++
    conv.errorCount += isError
    conv.lastActivity = Math.max(conv.lastActivity, e.ts)
    conv.startedAt = Math.min(conv.startedAt, e.ts)
    for (const p of newcomers) this.st.insertParticipant!.run(p, conversationId, e.project_id)
    const agentId = e.agent_id ?? e.sender

    const metadata = e.metadata === undefined ? null : JSON.stringify(e.metadata)
    this.st.insertMessage!.run({
      id: messageId, conversationId, projectId: e.project_id, sender: e.sender, recipient: e.recipient ?? null,
      content: e.content, messageType: e.message_type, ts: e.ts, metadata, responseTimeMs, eventSeq: seq,
    })
    // Taking part in a conversation, either side, is activity of an agent.
    this.touch(this.agentActivity, e.sender, e.ts)
    if (e.recipient) this.touch(this.agentActivity, e.recipient, e.ts)
    if (isError) this.st.agentError!.run(agentId)
    this.touch(this.projectActivity, e.project_id, e.ts)

    const hour = Math.floor(e.ts / HOUR) * HOUR
    const key = `${e.project_id}\u0000${hour}\u0000${agentId}`
    let r = this.rollups.get(key)
    if (!r) {
      r = { projectId: e.project_id, agentId, hour, messages: 0, errors: 0, responses: 0, responseMsSum: 0 }
      this.rollups.set(key, r)
    }
    r.messages++
    r.errors += isError
    if (responseTimeMs !== null) {
      r.responses++
      r.responseMsSum += responseTimeMs
    }
    return {
      conversation_id: conversationId,
      message: {
        id: messageId, conversation_id: conversationId, sender: e.sender, recipient: e.recipient ?? null,
        content: e.content, message_type: e.message_type, timestamp: new Date(e.ts).toISOString(),
        metadata: e.metadata ?? {}, response_time_ms: responseTimeMs,
      },
    }
  }

  private taskUpserted(e: IngestEventOf<'task.upserted'> & { ts: number, project_id: string }, seq: number) {
    this.st.upsertTask!.run({
      id: e.task_id, projectId: e.project_id, name: e.name ?? e.task_id, nameGiven: e.name ?? null,
      description: e.description ?? null, status: normaliseTaskStatus(e.status) ?? null, priority: e.priority ?? null,
      estimatedHours: e.estimated_hours ?? null, labels: jsonOrNull(e.labels), dueAt: e.due_at ?? null, ts: e.ts,
    })
    if (e.depends_on) {
      this.st.deleteDeps!.run(e.task_id)
      for (const dep of e.depends_on) this.st.insertDep!.run(e.task_id, dep, e.project_id)
    }
    for (const dep of e.also_depends_on ?? []) this.st.insertDep!.run(e.task_id, dep, e.project_id)
    if (e.pipeline_run_id) this.pipelineStatements().setTaskRun!.run(e.pipeline_run_id, e.task_id)
    this.st.history!.run(e.task_id, e.project_id, null, 'upserted', normaliseTaskStatus(e.status) ?? null, null, null, e.ts, seq)
    return { task_id: e.task_id }
  }

  private taskAssigned(e: IngestEventOf<'task.assigned'> & { ts: number, project_id: string }, seq: number) {
    const existing = this.st.getTask!.get(e.task_id) as { status: string, assigned_agent_id: string | null } | undefined
    this.st.upsertTask!.run({
      id: e.task_id, projectId: e.project_id, name: e.task_name ?? e.task_id, nameGiven: e.task_name ?? null,
      description: null, status: null, priority: e.priority ?? null, estimatedHours: e.estimated_hours ?? null,
      labels: null, dueAt: null, ts: e.ts,
    })
    // Marcus writes nothing when a blocker is resolved: a blocked task assigned again is the sign.
    if (existing?.status === 'blocked') {
      this.st.resolveTaskBlockers!.run({ taskId: e.task_id, ts: e.ts, resolution: `task re-assigned to ${e.agent_id}` })
    }
    // Re-assigned (a lease reclaimed, a recovery): the previous agent no longer holds it.
    if (existing?.assigned_agent_id && existing.assigned_agent_id !== e.agent_id) {
      this.st.agentReleased!.run({ id: existing.assigned_agent_id, taskId: e.task_id, completed: 0, failed: 0 })
      this.st.history!.run(e.task_id, e.project_id, existing.assigned_agent_id, 'unassigned', null, null, `re-assigned to ${e.agent_id}`, e.ts, seq)
    }
    this.st.assignTask!.run({ id: e.task_id, agentId: e.agent_id, ts: e.ts })
    this.ensureAgent(e.agent_id, e.project_id, e.ts)
    const before = this.st.getAgent!.get(e.agent_id) as { status: string }
    this.st.agentBusy!.run({ id: e.agent_id, taskId: e.task_id, projectId: e.project_id, ts: e.ts })
    this.st.history!.run(e.task_id, e.project_id, e.agent_id, e.reason ? 'requeued' : 'assigned', 'in_progress', null, e.reason ?? null, e.ts, seq)
    return { task_id: e.task_id, agent_id: e.agent_id, status: 'in_progress', agent_status: 'busy', previous_agent_status: before.status }
  }

  private taskProgress(e: IngestEventOf<'task.progress'> & { ts: number, project_id: string }, seq: number) {
    let status = normaliseTaskStatus(e.status)
    if (!status && e.progress === 100) status = 'done'
    const progress = status === 'done' ? 1 : e.progress === undefined ? null : e.progress / 100
    const existing = this.st.getTask!.get(e.task_id) as { status: string } | undefined
    if (!existing) {
      this.st.upsertTask!.run({
        id: e.task_id, projectId: e.project_id, name: e.task_id, nameGiven: null, description: null, status: status ?? 'in_progress',
        priority: null, estimatedHours: null, labels: null, dueAt: null, ts: e.ts,
      })
    }
    this.st.progressTask!.run({ id: e.task_id, progress, status: status ?? null, ts: e.ts, agentId: e.agent_id ?? null })
    this.st.history!.run(e.task_id, e.project_id, e.agent_id ?? null, 'progress', status ?? null, progress, e.message ?? null, e.ts, seq)
    if (e.agent_id) {
      this.touch(this.agentActivity, e.agent_id, e.ts)
      const finished = status === 'done' || status === 'failed'
      if (finished && existing?.status !== status) {
        this.st.agentReleased!.run({ id: e.agent_id, taskId: e.task_id, completed: status === 'done' ? 1 : 0, failed: status === 'failed' ? 1 : 0 })
      }
    }
    return { task_id: e.task_id, agent_id: e.agent_id ?? null, status: status ?? existing?.status ?? 'in_progress', progress }
  }

  private blockerReported(e: IngestEventOf<'blocker.reported'> & { id: string, ts: number, project_id: string }, seq: number) {
    const blockerId = e.blocker_id ?? e.id
    this.st.insertBlocker!.run({
      id: blockerId, projectId: e.project_id, taskId: e.task_id ?? null, agentId: e.agent_id ?? null, severity: e.severity,
      description: e.description, solutions: jsonOrNull(e.suggested_solutions), ts: e.ts,
    })
    if (e.task_id) {
      this.st.blockTask!.run({ id: e.task_id, ts: e.ts })
      this.st.history!.run(e.task_id, e.project_id, e.agent_id ?? null, 'blocked', 'blocked', null, e.description, e.ts, seq)
      // A blocked task releases its agent (Marcus hands it a new task).
      if (e.agent_id) this.st.agentReleased!.run({ id: e.agent_id, taskId: e.task_id, completed: 0, failed: 0 })
    }
    if (e.agent_id) this.touch(this.agentActivity, e.agent_id, e.ts)
    return { blocker_id: blockerId, task_id: e.task_id ?? null, severity: e.severity }
  }

  // -------------------------------------------------------------------------------------
  // Pipelines: definitions, runs and stage runs. What happens next (starting stages, skipping
  // dependants, finishing runs) is decided by server/utils/pipelines.ts, which ingests events.

  private pipelineSt?: Record<string, Statement>

  /** Prepared on first use: most batches carry no pipeline events. */
  private pipelineStatements(): Record<string, Statement> {
    if (this.pipelineSt) return this.pipelineSt
    const p = (sql: string) => this.sqlite.prepare(sql)
    this.pipelineSt = {
      setTaskRun: p(`UPDATE tasks SET pipeline_run_id = ? WHERE id = ?`),
      getPipeline: p(`SELECT project_id, stages FROM pipelines WHERE id = ?`),
      upsertPipeline: p(`INSERT INTO pipelines (id, project_id, name, description, stages, created_at, updated_at)
        VALUES (@id, @projectId, @name, @description, @stages, @ts, @ts)
        ON CONFLICT(id) DO UPDATE SET name = excluded.name, description = coalesce(excluded.description, description),
          stages = excluded.stages, updated_at = max(updated_at, excluded.updated_at)`),
      insertRun: p(`INSERT INTO pipeline_runs (id, pipeline_id, project_id, status, trigger, parameters, notifications, started_at)
        VALUES (@id, @pipelineId, @projectId, 'running', @trigger, @parameters, @notifications, @ts)`),
      insertStageRun: p(`INSERT INTO pipeline_stage_runs (run_id, stage_id, project_id, status) VALUES (?, ?, ?, 'pending')`),
      getStageRun: p(`SELECT s.status, s.attempt, s.agent_id, s.task_id, r.status AS run_status, r.project_id, r.pipeline_id
        FROM pipeline_stage_runs s JOIN pipeline_runs r ON r.id = s.run_id WHERE s.run_id = ? AND s.stage_id = ?`),
      retryStage: p(`UPDATE pipeline_stage_runs SET status = 'pending', attempt = attempt + 1, progress = 0, agent_id = NULL, task_id = NULL,
        started_at = NULL, finished_at = NULL, error = NULL WHERE run_id = @runId AND stage_id = @stageId`),
      reopenRun: p(`UPDATE pipeline_runs SET status = 'running', finished_at = NULL WHERE id = ?`),
      updateStage: p(`UPDATE pipeline_stage_runs SET status = @status,
        progress = CASE WHEN @status = 'completed' THEN 1 ELSE coalesce(@progress, progress) END,
        agent_id = coalesce(@agentId, agent_id), task_id = coalesce(@taskId, task_id),
        started_at = CASE WHEN @status IN ('running', 'completed', 'failed') THEN coalesce(started_at, @ts) ELSE started_at END,
        finished_at = CASE WHEN @status IN ('completed', 'failed', 'skipped', 'cancelled') THEN @ts ELSE NULL END,
        error = coalesce(@error, error) WHERE run_id = @runId AND stage_id = @stageId`),
      getRun: p(`SELECT status, project_id, pipeline_id FROM pipeline_runs WHERE id = ?`),
      openStageTasks: p(`SELECT t.id, t.assigned_agent_id FROM pipeline_stage_runs s JOIN tasks t ON t.id = s.task_id
        WHERE s.run_id = ? AND s.status IN ('pending', 'running') AND t.status NOT IN ('done', 'failed', 'cancelled')`),
      cancelTask: p(`UPDATE tasks SET status = 'cancelled', updated_at = max(updated_at, @ts) WHERE id = @id`),
      cancelStages: p(`UPDATE pipeline_stage_runs SET status = 'cancelled', finished_at = @ts WHERE run_id = @runId AND status IN ('pending', 'running')`),
      finishRun: p(`UPDATE pipeline_runs SET status = @status, finished_at = @ts WHERE id = @runId`),
    }
    return this.pipelineSt
  }

  private pipelineDefined(e: IngestEventOf<'pipeline.defined'> & { ts: number, project_id: string }) {
    const st = this.pipelineStatements()
    const existing = st.getPipeline!.get(e.pipeline_id) as { project_id: string } | undefined
    if (existing && existing.project_id !== e.project_id) {
      throw Object.assign(new Error(`pipeline ${e.pipeline_id} belongs to another project`), { code: 'CONFLICT' })
    }
    st.upsertPipeline!.run({
      id: e.pipeline_id, projectId: e.project_id, name: e.name, description: e.description ?? null, stages: JSON.stringify(e.stages), ts: e.ts,
    })
    return { pipeline_id: e.pipeline_id, name: e.name, stages: e.stages.length }
  }

  private pipelineRunStarted(e: IngestEventOf<'pipeline.run.started'> & { ts: number, project_id: string }) {
    const st = this.pipelineStatements()
    const pipeline = st.getPipeline!.get(e.pipeline_id) as { project_id: string, stages: string } | undefined
    if (!pipeline || pipeline.project_id !== e.project_id) {
      throw Object.assign(new Error(`unknown pipeline ${e.pipeline_id} in project ${e.project_id}`), { code: 'PIPELINE_NOT_FOUND' })
    }
    st.insertRun!.run({
      id: e.run_id, pipelineId: e.pipeline_id, projectId: e.project_id, trigger: e.trigger,
      parameters: jsonOrNull(e.parameters), notifications: jsonOrNull(e.notifications), ts: e.ts,
    })
    for (const stage of JSON.parse(pipeline.stages) as { id: string }[]) st.insertStageRun!.run(e.run_id, stage.id, e.project_id)
    return { pipeline_id: e.pipeline_id, run_id: e.run_id, status: 'running', trigger: e.trigger }
  }

  /**
   * A stage moves forward (pending → running → completed/failed/skipped/cancelled); a finished
   * stage only moves back to `pending`, which is a retry: a new attempt, and the run reopens.
   * Anything else arriving for a finished stage (a late progress report) is ignored.
   */
  private pipelineStageUpdated(e: IngestEventOf<'pipeline.stage.updated'> & { ts: number, project_id: string }) {
    const st = this.pipelineStatements()
    type StageRow = { status: string, attempt: number, agent_id: string | null, task_id: string | null, run_status: string, project_id: string, pipeline_id: string }
    let row = st.getStageRun!.get(e.run_id, e.stage_id) as StageRow | undefined
    if (!row) {
      // A stage the pipeline gained after the run started (a redefinition) joins the run.
      const run = st.getRun!.get(e.run_id) as { project_id: string, pipeline_id: string } | undefined
      const pipeline = run ? st.getPipeline!.get(run.pipeline_id) as { stages: string } | undefined : undefined
      if (run && run.project_id === e.project_id && pipeline && (JSON.parse(pipeline.stages) as { id: string }[]).some(s => s.id === e.stage_id)) {
        st.insertStageRun!.run(e.run_id, e.stage_id, e.project_id)
        row = st.getStageRun!.get(e.run_id, e.stage_id) as StageRow
      }
    }
    if (!row || row.project_id !== e.project_id) {
      throw Object.assign(new Error(`unknown stage ${e.stage_id} of pipeline run ${e.run_id} in project ${e.project_id}`), { code: 'PIPELINE_RUN_NOT_FOUND' })
    }
    const finished = (s: string) => s === 'completed' || s === 'failed' || s === 'skipped' || s === 'cancelled'
    const base = { pipeline_id: row.pipeline_id, run_id: e.run_id, stage_id: e.stage_id, previous_status: row.status }
    if (finished(row.status)) {
      if (e.status !== 'pending') return { ...base, status: row.status, attempt: row.attempt, ignored: true }
      st.retryStage!.run({ runId: e.run_id, stageId: e.stage_id })
      if (row.run_status !== 'running' && row.run_status !== 'pending') st.reopenRun!.run(e.run_id)
      return { ...base, status: 'pending', attempt: row.attempt + 1, progress: 0 }
    }
    st.updateStage!.run({
      runId: e.run_id, stageId: e.stage_id, status: e.status, progress: e.progress ?? null, agentId: e.agent_id ?? null,
      taskId: e.task_id ?? null, error: e.error ?? null, ts: e.ts,
    })
    if (e.agent_id) this.touch(this.agentActivity, e.agent_id, e.ts)
    return {
      ...base, status: e.status, attempt: row.attempt, progress: e.status === 'completed' ? 1 : e.progress ?? null,
      agent_id: e.agent_id ?? row.agent_id, task_id: e.task_id ?? row.task_id,
    }
  }

  /** A cancelled run cancels its open stages and their tasks (their agents are released). */
  private pipelineRunFinished(e: IngestEventOf<'pipeline.run.finished'> & { ts: number, project_id: string }) {
    const st = this.pipelineStatements()
    const run = st.getRun!.get(e.run_id) as { status: string, project_id: string, pipeline_id: string } | undefined
    if (!run || run.project_id !== e.project_id) {
      throw Object.assign(new Error(`unknown pipeline run ${e.run_id} in project ${e.project_id}`), { code: 'PIPELINE_RUN_NOT_FOUND' })
    }
    const base = { pipeline_id: run.pipeline_id, run_id: e.run_id, previous_status: run.status }
    if (run.status !== 'running' && run.status !== 'pending') return { ...base, status: run.status, ignored: true }
    if (e.status === 'cancelled') {
      for (const task of st.openStageTasks!.all(e.run_id) as { id: string, assigned_agent_id: string | null }[]) {
        st.cancelTask!.run({ id: task.id, ts: e.ts })
        if (task.assigned_agent_id) this.st.agentReleased!.run({ id: task.assigned_agent_id, taskId: task.id, completed: 0, failed: 0 })
      }
      st.cancelStages!.run({ runId: e.run_id, ts: e.ts })
    }
    st.finishRun!.run({ runId: e.run_id, status: e.status, ts: e.ts })
    return { ...base, status: e.status }
  }
}

function jsonOrNull(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value)
}
