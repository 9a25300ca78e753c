// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type NodeView = {
  url: string;
  logKey: string;
  witnessKeys: Array<string>;
  quorum: number;
  verifiedSize: number | null;
  /** True when split-view / rollback evidence is kept for this node. */
  evidence: boolean;
};
