/** Bearer tokens compared in constant time, whatever their lengths. */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** Compares two tokens without leaking where they differ or their length. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** The token of an Authorization header: "Bearer T" or a bare "T". */
export function tokenOf(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (m?.[1]) return m[1];
  return /^\S+$/.test(header.trim()) ? header.trim() : null;
}
