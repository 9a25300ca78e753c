// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type AppStatus = {
  walletExists: boolean;
  unlocked: boolean;
  keyringUnlock: boolean;
  vaultDir: string;
  /** URL of the embedded ledger node, when it runs. */
  embeddedNode: string | null;
  /** Which secret store holds the keyring unlock secret (e.g. "Secret Service"). */
  secretStore: string;
};
