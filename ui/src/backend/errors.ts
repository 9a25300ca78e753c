import type { AppError } from '../bindings/AppError';
import { t } from '../i18n';

/** An error from the wallet, as `{ code, message }`: screens branch on `code`, show `message`. */
export class BackendError extends Error implements AppError {
  readonly code: string;
  /** For `card_refused`: why (`altered`, `expired`, `not_yet_valid`, `revoked`, `issuer_key`). */
  readonly reason?: string;
  /** For `card_refused` and `issuer_unreachable`: the card issuer it is about. */
  readonly issuer?: string;

  constructor(code: string, message: string, extra: { reason?: string; issuer?: string } = {}) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
    if (extra.reason !== undefined) this.reason = extra.reason;
    if (extra.issuer !== undefined) this.issuer = extra.issuer;
  }
}

function extraOf(e: AppError): { reason?: string; issuer?: string } {
  return {
    reason: typeof e.reason === 'string' ? e.reason : undefined,
    issuer: typeof e.issuer === 'string' ? e.issuer : undefined,
  };
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
  if (isAppError(error)) return new BackendError(error.code, error.message, extraOf(error));
  if (typeof error === 'string') {
    try {
      const parsed: unknown = JSON.parse(error);
      if (isAppError(parsed)) return new BackendError(parsed.code, parsed.message, extraOf(parsed));
    } catch {
      // Not JSON: a plain message.
    }
    return new BackendError('unknown', error || 'Unknown error');
  }
  if (error instanceof Error) return new BackendError('unknown', error.message || error.name);
  return new BackendError('unknown', 'Unknown error');
}

/**
 * Every code the wallet and the app can return (docs/app-commands.md, plus the app's own
 * `locked`, `no_wallet`, `bad_input`, `io`, `internal`, and `unknown` for anything else). Each has
 * a sentence in the `errors` area of every catalogue (`errors.<code>`); a test checks both, and a
 * Rust test compares this list with `WalletError::code()`.
 */
export const ERROR_CODES = [
  // vault
  'wrong_passphrase', 'weak_kdf', 'no_wallet', 'wallet_exists', 'vault',
  // policy
  'weak_passphrase',
  // shared
  'record_crypto', 'crypto', 'bad_document', 'bad_fhir', 'bad_qr',
  'io', 'state', 'wrong_role', 'not_found', 'ambiguous', 'bad_journal', 'no_home',
  // RecordError
  'not_a_file', 'record_tampered', 'rekey_failed',
  // ShareError
  'unconfirmed_nodes', 'empty_share', 'not_requested', 'bad_duration', 'grant_not_active', 'bad_end', 'already_shortened', 'bad_key',
  'directory_key_mismatch',
  // LinkError
  'bad_node_url', 'bad_node_ref', 'bad_log_key', 'bad_witness_key', 'bad_quorum', 'needs_witness',
  'node_key_mismatch', 'node_in_use', 'node_url_taken',
  // BackupError
  'backup_share_gone', 'backup_share_unreachable', 'bad_interval', 'backup_folder_missing',
  // ReceiptError
  'not_a_receipt', 'bad_receipt', 'receipt_mismatch', 'bad_ledger_proof',
  // ProviderError, DirectoryError
  'bad_name', 'empty_request', 'bad_validity', 'refused', 'ledger',
  // CardImportError
  'not_a_card', 'card_refused', 'issuer_unreachable', 'bad_issuer',
  // SummaryError
  'no_patient_record', 'record_not_json', 'summary_failed',
  // HealthLinkError (SMART Health Links; `empty_share` above)
  'no_link_node', 'not_a_health_record', 'bad_label', 'bad_expiry', 'bad_passcode', 'link_ended', 'not_long_term', 'link_not_stored',
  // the app's own
  'locked', 'bad_input', 'internal', 'unknown',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isKnownCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * What happened and what to do next, in the patient's language (`errors.<code>`). A code this
 * build does not know reads as `unknown`; the wallet's own message is shown only under
 * "Technical details" (Notice.error).
 */
export function explainError(error: BackendError): string {
  return t(`errors.${isKnownCode(error.code) ? error.code : 'unknown'}`);
}
