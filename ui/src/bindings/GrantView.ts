// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type GrantView = {
  id: string;
  providerName: string;
  providerKey: string;
  purpose: string;
  notBefore: number;
  notAfter: number;
  /** "active", "expired", "revoked" or "erased". */
  status: string;
  records: Array<string>;
  resourceTypes: Array<string>;
};
