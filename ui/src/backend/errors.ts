import type { AppError } from '../bindings/AppError';

/** An error from the wallet, as `{ code, message }`: screens branch on `code`, show `message`. */
export class BackendError extends Error implements AppError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

function isAppError(value: unknown): value is AppError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/**
 * Turns whatever a rejected `invoke` (or anything else) threw into a `BackendError`.
 * Tauri rejects with the command's serialised error: normally `{ code, message }`, but a
 * panicking or missing command rejects with a plain string.
 */
export function toBackendError(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  if (isAppError(error)) return new BackendError(error.code, error.message);
  if (typeof error === 'string') {
    try {
      const parsed: unknown = JSON.parse(error);
      if (isAppError(parsed)) return new BackendError(parsed.code, parsed.message);
    } catch {
      // Not JSON: a plain message.
    }
    return new BackendError('unknown', error || 'Unknown error');
  }
  if (error instanceof Error) return new BackendError('unknown', error.message || error.name);
  return new BackendError('unknown', 'Unknown error');
}

/** Words a patient can act on, for the codes where the wallet's own message is too technical. */
export function explainError(error: BackendError): string {
  switch (error.code) {
    case 'wrong_passphrase':
      return 'That passphrase is not right. Check Caps Lock and try again.';
    case 'locked':
      return 'The wallet is locked. Unlock it and try again.';
    case 'no_wallet':
      return 'There is no wallet on this device yet.';
    case 'bad_qr':
      return `No Carekey request could be read: ${error.message}`;
    case 'unconfirmed_nodes':
      return 'Confirm the ledger nodes this request names before sharing.';
    case 'empty_share':
      return 'Choose at least one record or type of record to share.';
    case 'weak_passphrase':
      return `Choose a stronger passphrase: ${error.message}`;
    default:
      return error.message;
  }
}
