/** The insights tables (re-exported by schema.ts). */
export {}
