/** Where the chosen theme (`dark` / `light`; absent: follow the system) is remembered. */
export const THEME_STORAGE_KEY = 'seneca.theme'
export type Theme = 'dark' | 'light' | 'system'
