import withNuxt from './.nuxt/eslint.config.mjs'

export default withNuxt(
  {
    ignores: ['drizzle/migrations/**', 'data/**', 'tests/e2e/screenshots/**', 'bench/results/**'],
  },
  {
    // Tests read JSON bodies of HTTP answers; typing every shape there buys nothing.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
)
