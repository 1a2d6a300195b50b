/**
 * A layered left-to-right layout for small dependency graphs drawn as SVG (a project's
 * workflow stages). Pipelines come laid out by the server (dagre); workflows come as stages
 * and `from → to` dependencies only, so the page lays them out itself: a node's column is the
 * longest chain of dependencies before it, rows keep the input order within a column.
 */
export type LayoutNode = { id: string, x: number, y: number, layer: number }
export type LayoutResult = { nodes: Map<string, LayoutNode>, width: number, height: number }
export type LayoutOptions = { nodeWidth: number, nodeHeight: number, columnGap: number, rowGap: number, margin: number }

const defaults: LayoutOptions = { nodeWidth: 180, nodeHeight: 64, columnGap: 60, rowGap: 24, margin: 16 }

/** Node centres (`x`, `y`) for `ids` with `edges` (`from` must finish before `to`). Cycles are broken in input order. */
export function layeredLayout(ids: string[], edges: { from: string, to: string }[], options: Partial<LayoutOptions> = {}): LayoutResult {
  const o = { ...defaults, ...options }
  const known = new Set(ids)
  const incoming = new Map<string, string[]>(ids.map(id => [id, []]))
  for (const e of edges) if (known.has(e.from) && known.has(e.to) && e.from !== e.to) incoming.get(e.to)!.push(e.from)

  const layer = new Map<string, number>()
  const visiting = new Set<string>()
  function depth(id: string): number {
    const done = layer.get(id)
    if (done !== undefined) return done
    // A node met again while its own chain is being measured closes a cycle: count it as a start.
    if (visiting.has(id)) return -1
    visiting.add(id)
    let d = 0
    for (const from of incoming.get(id)!) d = Math.max(d, depth(from) + 1)
    visiting.delete(id)
    layer.set(id, d)
    return d
  }
  for (const id of ids) depth(id)

  const columns: string[][] = []
  for (const id of ids) (columns[layer.get(id)!] ??= []).push(id)
  const rows = Math.max(1, ...columns.map(c => c?.length ?? 0))
  const height = o.margin * 2 + rows * o.nodeHeight + (rows - 1) * o.rowGap
  const nodes = new Map<string, LayoutNode>()
  columns.forEach((column, l) => {
    if (!column) return
    // Centre each column vertically, so a single stage sits level with a wide neighbour.
    const columnHeight = column.length * o.nodeHeight + (column.length - 1) * o.rowGap
    const top = (height - columnHeight) / 2
    column.forEach((id, row) => {
      nodes.set(id, {
        id, layer: l,
        x: o.margin + l * (o.nodeWidth + o.columnGap) + o.nodeWidth / 2,
        y: top + row * (o.nodeHeight + o.rowGap) + o.nodeHeight / 2,
      })
    })
  })
  const width = o.margin * 2 + columns.length * o.nodeWidth + Math.max(0, columns.length - 1) * o.columnGap
  return { nodes, width: Math.max(width, o.margin * 2 + o.nodeWidth), height }
}

/** An SVG path from the right edge of one node to the left edge of another, as a gentle S-curve. */
export function edgePath(from: { x: number, y: number }, to: { x: number, y: number }, halfWidth: number): string {
  const x1 = from.x + halfWidth
  const x2 = to.x - halfWidth
  const mid = (x1 + x2) / 2
  return `M ${x1} ${from.y} C ${mid} ${from.y}, ${mid} ${to.y}, ${x2} ${to.y}`
}
