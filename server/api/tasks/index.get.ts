import { taskListQuery } from '../../../shared/records'

export default defineEventHandler(event => listTasks(validQuery(event, taskListQuery)))
