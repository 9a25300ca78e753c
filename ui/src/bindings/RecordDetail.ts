// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
import type { RecordView } from "./RecordView";

export type RecordDetail = { record: RecordView; json: string | null };
