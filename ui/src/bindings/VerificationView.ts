// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
import type { VerificationState } from "./VerificationState";

export type VerificationView = { state: VerificationState; directory: string | null; listedName: string | null };
