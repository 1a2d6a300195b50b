import { projectParams } from '../../../../shared/projects'

/** GET /api/projects/{project_id}/workflow: stages, their dependencies, the critical path and the estimated completion. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, projectParams)
  return projectWorkflow(project_id, scopeFor(event))
})
