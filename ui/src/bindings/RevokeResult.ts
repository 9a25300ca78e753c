// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type RevokeResult = { rekeyed: number };
