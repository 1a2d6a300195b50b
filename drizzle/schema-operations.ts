/** The operations tables (re-exported by schema.ts). */
export {}
