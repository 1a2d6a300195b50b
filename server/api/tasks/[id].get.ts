import { taskIdParams } from '../../../shared/records'

export default defineEventHandler(event => getTask(validParams(event, taskIdParams).id, scopeFor(event)))
