// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
import type { KdfView } from "./KdfView";
import type { NodeView } from "./NodeView";

export type SettingsView = {
  nodes: Array<NodeView>;
  outboxPending: number;
  kdf: KdfView;
  keyringUnlock: boolean;
  embeddedNode: string | null;
  vaultDir: string;
  backups: Array<string>;
};
