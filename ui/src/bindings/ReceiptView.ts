// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type ReceiptView = {
  subject: string;
  erasedAt: number;
  destroyed: Array<string>;
  limits: Array<string>;
  /** Nodes whose logs hold the erasure entry (with an inclusion proof in `json`). */
  ledgerNodes: Array<string>;
  /** The full receipt (carekey-erasure-receipt/v1) as pretty JSON. */
  json: string;
};
