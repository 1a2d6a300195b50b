import { blockerListQuery } from '../../../shared/records'

export default defineEventHandler(event => listBlockers(validQuery(event, blockerListQuery)))
