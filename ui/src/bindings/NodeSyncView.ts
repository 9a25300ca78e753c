// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type NodeSyncView = { url: string; verifiedSize: number | null; problem: string | null; alarm: boolean };
