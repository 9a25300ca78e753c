// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type VerificationState = "verified" | "name_mismatch" | "unlisted" | "no_directory";
