export default defineEventHandler(event => sendHealth(event))
