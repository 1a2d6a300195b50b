/** The costs tables (re-exported by schema.ts). */
export {}
