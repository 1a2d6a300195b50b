import { projectParams } from '../../../../shared/projects'

/** GET /api/projects/{project_id}: one project with configuration, features, quality gates and velocity. */
export default defineEventHandler((event) => {
  const { project_id } = validParams(event, projectParams)
  return getProject(project_id, scopeFor(event))
})
