// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
import type { NodeSyncView } from "./NodeSyncView";

export type SyncView = { nodes: Array<NodeSyncView>; outboxPending: number; newAccessEvents: number };
