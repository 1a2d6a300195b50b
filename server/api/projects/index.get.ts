import { projectListQuery } from '../../../shared/projects'

/** GET /api/projects: projects with progress, team and health computed from their tasks and agents. */
export default defineEventHandler((event) => {
  const query = validQuery(event, projectListQuery)
  return listProjects(query, scopeFor(event))
})
