import { decisionListQuery } from '../../../shared/records'

export default defineEventHandler(event => listDecisions(validQuery(event, decisionListQuery)))
