import { projectCreateBody } from '../../../shared/projects'

/** POST /api/projects: a new project; `template` creates its starting workflow of tasks. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  // A project someone creates must be one they can see afterwards.
  if (principal.role !== 'admin' && principal.projects !== '*') {
    throw apiError('FORBIDDEN', 'Creating projects needs an admin or a member of every project (projects ["*"])')
  }
  const body = validated(projectCreateBody, await readJsonBody(event, 256 * 1024), 'body')
  const project = createProject(body, principal.id)
  event.context.audit = { action: 'project.created', projectId: project.id, target: project.id }
  setResponseStatus(event, 201)
  return project
})
