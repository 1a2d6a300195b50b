import { projectFeaturesBody, projectParams } from '../../../../shared/projects'

/** PUT /api/projects/{project_id}/features: features and quality gates (validated), then evaluated. */
export default defineEventHandler(async (event) => {
  const principal = principalOf(event)
  const { project_id } = validParams(event, projectParams)
  assertProjectAccess(event, project_id)
  const { features } = validated(projectFeaturesBody, await readJsonBody(event, 64 * 1024), 'body')
  event.context.audit = { action: 'project.features.updated', projectId: project_id, target: project_id }
  return updateFeatures(project_id, features, scopeFor(event), principal.id)
})
