/**
 * HS256 test tokens for a server started with a known SENECA_JWT_SECRET (ARCHITECTURE §9 claims).
 */
import { SignJWT } from 'jose'

export type TokenClaims = {
  sub?: string
  role?: 'admin' | 'member' | 'viewer' | 'ingest'
  projects?: string[]
  /** Seconds from now; negative gives an expired token. */
  expiresInS?: number
}

export async function mintTestToken(secret: string, claims: TokenClaims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({ role: claims.role ?? 'admin', projects: claims.projects ?? ['*'] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub ?? 'tester')
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (claims.expiresInS ?? 3600))
    .sign(new TextEncoder().encode(secret))
}

/** An unsigned token (`alg: none`), which the server must refuse. */
export function unsignedToken(claims: TokenClaims = {}): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: claims.sub ?? 'tester', role: claims.role ?? 'admin', projects: claims.projects ?? ['*'], exp: now + 3600 })}.`
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
