// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
import type { RecordView } from "./RecordView";
import type { VerificationView } from "./VerificationView";

export type RequestView = {
  uri: string;
  providerName: string;
  providerKey: string;
  verification: VerificationView;
  purpose: string;
  resourceTypes: Array<string>;
  recordIds: Array<string>;
  durationSecs: number;
  expiresAt: number;
  unpinnedNodes: Array<string>;
  matchingRecords: Array<RecordView>;
};
