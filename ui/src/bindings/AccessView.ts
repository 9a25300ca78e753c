// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type AccessView = {
  servedAt: number;
  providerName: string;
  providerKey: string;
  grantId: string;
  records: Array<string>;
  node: string;
  index: number;
  /** "verified", or why not (a "FORGED: …" string is an alarm). */
  verification: string;
};
