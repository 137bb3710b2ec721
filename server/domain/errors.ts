import type { ErrorCode } from '../../contract/index.js';

/**
 * An error the domain or the ledger raises on purpose. It carries a stable
 * `code` from the contract; the HTTP layer maps codes to statuses and the
 * widget maps them to translated messages.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
