// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type ImportProgress = { path: string; done: number; total: number };
