/**
 * A random UUID v4: the widget's idempotency keys, and the ids and charge
 * references the ledger and the test gateway make — also when they run in a
 * page as the shipped mocks. `crypto.randomUUID` exists only in secure
 * contexts (https, localhost): a page served over plain http from a LAN
 * address has none, while `crypto.getRandomValues` works everywhere (Node too).
 *
 * @example
 * randomUuid(); // "3b241101-e2bb-4255-8caf-4136c566a962"
 */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return hex.replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
}
