/** The node types of the knowledge graph; apart from shared/insights.ts so the dashboard can use them without loading zod. */
export const knowledgeNodeTypes = ['project', 'agent', 'task', 'decision', 'artifact'] as const
