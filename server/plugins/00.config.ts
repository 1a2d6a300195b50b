/**
 * Checks the whole configuration before anything else starts: a bad value stops the server
 * with one line naming the variable and what it must be (exit code 78, EX_CONFIG), instead of
 * a stack trace, or a failure at the first request that happens to need it.
 */
import { ConfigError, useConfig } from '../utils/config'

export default defineNitroPlugin(() => {
  try {
    useConfig()
  }
  catch (error) {
    if (!(error instanceof ConfigError)) throw error
    console.error(`[seneca] configuration error: ${error.message}`)
    process.exit(78)
  }
})
