/** What the conversation viewer reads out of a message's metadata: tool calls and timings. */

export type ToolCall = { name: string, arguments?: unknown, response?: unknown }
type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Tool calls as agents report them: `tool_calls: ["name" | {name|tool|function, arguments}]`,
 * or one call as `tool_name`/`tool` (Marcus puts it under `context`).
 */
export function toolCallsOf(metadata: Json | null | undefined): ToolCall[] {
  if (!metadata) return []
  const calls: ToolCall[] = []
  const list = metadata.tool_calls
  if (Array.isArray(list)) {
    for (const c of list) {
      if (typeof c === 'string') calls.push({ name: c })
      else if (isObject(c)) {
        const fn = isObject(c.function) ? c.function : undefined
        calls.push({ name: String(c.name ?? c.tool ?? fn?.name ?? 'tool'), arguments: c.arguments ?? c.args ?? c.input ?? fn?.arguments, response: c.response ?? c.result ?? c.output })
      }
    }
  }
  for (const holder of [metadata, isObject(metadata.context) ? metadata.context : undefined]) {
    if (!holder) continue
    const name = holder.tool_name ?? holder.tool
    if (typeof name === 'string') calls.push({ name, arguments: holder.arguments, response: holder.response })
  }
  return calls
}

export type Timing = { label: string, ms: number }

/** Durations a message carries: its response time, and what the sender reported. */
export function timingsOf(message: { response_time_ms: number | null, metadata: Json | null | undefined }): Timing[] {
  const out: Timing[] = []
  if (message.response_time_ms !== null) out.push({ label: 'response time', ms: message.response_time_ms })
  const m = message.metadata ?? {}
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
  const seconds = num(m.execution_time) ?? num(m.duration_seconds)
  if (seconds !== undefined) out.push({ label: 'execution', ms: seconds * 1000 })
  const ms = num(m.duration_ms) ?? num(m.latency_ms) ?? num(m.elapsed_ms)
  if (ms !== undefined) out.push({ label: 'duration', ms })
  return out
}
