/**
 * The model price table: the prices Seneca ships, how a model name finds its price, and the
 * arithmetic. Prices are US dollars per million tokens with an `effective_from` time; a
 * price applies to usage from then on until a later price of the same pattern.
 *
 * Which price applies to a usage event (project P, provider V, model M, time T): among the
 * rows whose pattern matches M, whose provider is V or unset (when the usage names no provider,
 * any provider's price for the name; a provider's catch-all `*` only for that provider),
 * whose project is P or unset and
 * which took effect by T, the first by
 *   1. a project override (project P), then a custom price for every project, then a shipped one;
 *   2. an exact name before a glob, a longer glob before a shorter one (`gpt-4o-mini*` beats `gpt-4o*`);
 *   3. a row naming the provider before one that does not;
 *   4. the latest `effective_from`.
 * Names are compared in lower case, as given and without a router prefix (`openai/gpt-4o` →
 * `gpt-4o`, Bedrock's `us.anthropic.claude-…-v1:0` → `claude-…`).
 */
export type PriceRow = {
  id: number
  projectId: string | null
  provider: string | null
  modelPattern: string
  inputPerMtok: number
  outputPerMtok: number
  cacheReadPerMtok: number | null
  cacheWritePerMtok: number | null
  effectiveFrom: number
  builtin: boolean
}

export type Tokens = { input: number, output: number, cacheRead: number, cacheWrite: number }

export type BuiltinPrice = {
  pattern: string
  provider: string | null
  /** YYYY-MM-DD (UTC) */
  from: string
  input: number
  output: number
  cacheRead: number | null
  cacheWrite: number | null
}

const p = (pattern: string, provider: string | null, from: string, input: number, output: number, cacheRead: number | null, cacheWrite: number | null): BuiltinPrice =>
  ({ pattern, provider, from, input, output, cacheRead, cacheWrite })

/** Prompt caching as Anthropic bills it: reads at 0.1×, 5-minute writes at 1.25× the input price. */
const anthropic = (pattern: string, from: string, input: number, output: number) => p(pattern, 'anthropic', from, input, output, round6(input * 0.1), round6(input * 1.25))
/** OpenAI bills cached input at a discount and cache writes as plain input. */
const openai = (pattern: string, from: string, input: number, output: number, cached: number) => p(pattern, 'openai', from, input, output, cached, input)
const google = (pattern: string, from: string, input: number, output: number, cached: number) => p(pattern, 'google', from, input, output, cached, input)

/** Local runtimes: the tokens cost nothing per call. */
export const LOCAL_PROVIDERS = ['ollama', 'llama.cpp', 'llamacpp', 'lmstudio', 'vllm', 'localai', 'mlx', 'local'] as const

/**
 * Shipped list prices (standard tier, prompts up to 200k tokens where the provider charges
 * more above that). Keep history: a new price is a new row with a later `from`, so past usage
 * keeps its price. Changing this list re-costs the stored usage it affects at the next start.
 */
export const BUILTIN_PRICES: BuiltinPrice[] = [
  // Anthropic
  anthropic('claude-opus-4-7*', '2026-01-01', 5, 25), // a model's first price may take any date before its release
  anthropic('claude-opus-4-6*', '2026-02-05', 5, 25),
  anthropic('claude-opus-4-5*', '2025-11-24', 5, 25),
  anthropic('claude-opus-4*', '2025-05-22', 15, 75),
  anthropic('claude-sonnet-4*', '2025-05-22', 3, 15),
  anthropic('claude-haiku-4*', '2025-10-15', 1, 5),
  anthropic('claude-3-7-sonnet*', '2025-02-24', 3, 15),
  anthropic('claude-3-5-sonnet*', '2024-06-20', 3, 15),
  anthropic('claude-3-5-haiku*', '2024-11-04', 0.8, 4),
  anthropic('claude-3-opus*', '2024-03-04', 15, 75),
  anthropic('claude-3-sonnet*', '2024-03-04', 3, 15),
  anthropic('claude-3-haiku*', '2024-03-13', 0.25, 1.25),
  // OpenAI
  openai('gpt-5*', '2025-08-07', 1.25, 10, 0.125),
  openai('gpt-5-mini*', '2025-08-07', 0.25, 2, 0.025),
  openai('gpt-5-nano*', '2025-08-07', 0.05, 0.4, 0.005),
  openai('gpt-4.1*', '2025-04-14', 2, 8, 0.5),
  openai('gpt-4.1-mini*', '2025-04-14', 0.4, 1.6, 0.1),
  openai('gpt-4.1-nano*', '2025-04-14', 0.1, 0.4, 0.025),
  openai('gpt-4o*', '2024-05-13', 5, 15, 5),
  openai('gpt-4o*', '2024-10-02', 2.5, 10, 1.25),
  openai('gpt-4o-mini*', '2024-07-18', 0.15, 0.6, 0.075),
  openai('gpt-4-turbo*', '2024-04-09', 10, 30, 10),
  openai('gpt-3.5-turbo*', '2024-01-25', 0.5, 1.5, 0.5),
  openai('o1*', '2024-12-17', 15, 60, 7.5),
  openai('o1-mini*', '2024-09-12', 1.1, 4.4, 0.55),
  openai('o1-pro*', '2025-03-19', 150, 600, 150),
  openai('o3*', '2025-04-16', 10, 40, 2.5),
  openai('o3*', '2025-06-10', 2, 8, 0.5),
  openai('o3-mini*', '2025-01-31', 1.1, 4.4, 0.55),
  openai('o3-pro*', '2025-06-10', 20, 80, 20),
  openai('o4-mini*', '2025-04-16', 1.1, 4.4, 0.275),
  // Google
  google('gemini-2.5-pro*', '2025-06-17', 1.25, 10, 0.31),
  google('gemini-2.5-flash*', '2025-06-17', 0.3, 2.5, 0.075),
  google('gemini-2.5-flash-lite*', '2025-07-22', 0.1, 0.4, 0.025),
  google('gemini-2.0-flash*', '2025-02-05', 0.1, 0.4, 0.025),
  google('gemini-2.0-flash-lite*', '2025-02-25', 0.075, 0.3, 0.075),
  google('gemini-1.5-pro*', '2024-10-01', 1.25, 5, 0.3125),
  google('gemini-1.5-flash*', '2024-08-12', 0.075, 0.3, 0.01875),
  // Local runtimes: free, whatever the model.
  ...LOCAL_PROVIDERS.map(provider => p('*', provider, '2000-01-01', 0, 0, 0, 0)),
  ...['ollama/*', 'ollama:*', 'local/*', 'lmstudio/*', 'llama.cpp/*'].map(pattern => p(pattern, null, '2000-01-01', 0, 0, 0, 0)),
]

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6
}

/** `YYYY-MM-DD` → epoch ms (UTC midnight). */
export function dayMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`)
}

/** The names a model is known by: as given, and without a router or cloud prefix and version suffix. */
export function modelNames(model: string): string[] {
  const given = model.trim().toLowerCase()
  const names = [given]
  let bare = given.slice(given.lastIndexOf('/') + 1)
  // Bedrock: `us.anthropic.claude-sonnet-4-20250514-v1:0`; Vertex: `claude-3-5-sonnet-v2@20241022`.
  bare = bare.replace(/^(?:(?:us|eu|apac|global)\.)?(?:anthropic|openai|google|meta|mistral)\./, '')
  bare = bare.replace(/-v\d+(?::\d+)?$/, '').replace(/@.*$/, '')
  if (bare && bare !== given) names.push(bare)
  return names
}

const globCache = new Map<string, RegExp>()

function globRegex(pattern: string): RegExp {
  let re = globCache.get(pattern)
  if (!re) {
    const body = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')
    re = new RegExp(`^${body}$`)
    if (globCache.size > 10_000) globCache.clear()
    globCache.set(pattern, re)
  }
  return re
}

export const isGlob = (pattern: string) => /[*?]/.test(pattern)

/** Whether `pattern` (exact or glob, case-insensitive) names the model. */
export function patternMatches(pattern: string, model: string): boolean {
  const names = modelNames(model)
  if (!isGlob(pattern)) return names.includes(pattern.toLowerCase())
  const re = globRegex(pattern)
  return names.some(n => re.test(n))
}

/** Higher is more specific: exact names, then globs by their literal length. */
export function specificity(pattern: string): number {
  return isGlob(pattern) ? pattern.replace(/[*?]/g, '').length : 10_000 + pattern.length
}

function tier(row: PriceRow): number {
  return row.projectId !== null ? 3 : row.builtin ? 1 : 2
}

/** Precedence order (see the header): the first row that took effect by the event's time wins. */
export function comparePrices(a: PriceRow, b: PriceRow): number {
  return tier(b) - tier(a)
    || specificity(b.modelPattern) - specificity(a.modelPattern)
    || Number(b.provider !== null) - Number(a.provider !== null)
    || b.effectiveFrom - a.effectiveFrom
    || b.id - a.id
}

/** US dollars for the tokens at a price; cache prices fall back to the input price. */
export function costAt(price: PriceRow, t: Tokens): number {
  const cacheRead = price.cacheReadPerMtok ?? price.inputPerMtok
  const cacheWrite = price.cacheWritePerMtok ?? price.inputPerMtok
  return (t.input * price.inputPerMtok + t.output * price.outputPerMtok + t.cacheRead * cacheRead + t.cacheWrite * cacheWrite) / 1e6
}

/** The price rows a (project, provider, model) can use, in precedence order. */
export function candidatePrices(rows: readonly PriceRow[], projectId: string, provider: string | null, model: string): PriceRow[] {
  const prov = provider?.toLowerCase() ?? null
  return rows
    .filter(r => (r.projectId === null || r.projectId === projectId)
      && (r.provider === null || r.provider === prov || (prov === null && r.modelPattern !== '*'))
      && patternMatches(r.modelPattern, model))
    .sort(comparePrices)
}

/** The price in force at `ts` from candidates in precedence order. */
export function priceAt(candidates: readonly PriceRow[], ts: number): PriceRow | undefined {
  return candidates.find(r => r.effectiveFrom <= ts)
}

/** Intervals `[from, to)` with the price in force (undefined: none), covering all time. */
export function priceTimeline(candidates: readonly PriceRow[]): { from: number, to: number, price: PriceRow | undefined }[] {
  const breaks = [...new Set(candidates.map(c => c.effectiveFrom))].sort((a, b) => a - b)
  const points = [Number.MIN_SAFE_INTEGER, ...breaks]
  const out: { from: number, to: number, price: PriceRow | undefined }[] = []
  for (let i = 0; i < points.length; i++) {
    const from = points[i]!
    const to = i + 1 < points.length ? points[i + 1]! : Number.MAX_SAFE_INTEGER
    const price = priceAt(candidates, from)
    const last = out.at(-1)
    if (last && last.price?.id === price?.id) last.to = to
    else out.push({ from, to, price })
  }
  return out
}

/**
 * Resolves prices for the ingest hot path: candidates per (project, provider, model) are
 * computed once and reused until the table changes.
 */
export class PriceBook {
  private readonly memo = new Map<string, PriceRow[]>()
  constructor(readonly rows: readonly PriceRow[], readonly version: string) {}

  candidates(projectId: string, provider: string | null, model: string): PriceRow[] {
    const key = `${projectId}\u0000${provider ?? ''}\u0000${model}`
    let found = this.memo.get(key)
    if (!found) {
      found = candidatePrices(this.rows, projectId, provider, model)
      if (this.memo.size > 50_000) this.memo.clear()
      this.memo.set(key, found)
    }
    return found
  }

  resolve(projectId: string, provider: string | null, model: string, ts: number): PriceRow | undefined {
    return priceAt(this.candidates(projectId, provider, model), ts)
  }
}
