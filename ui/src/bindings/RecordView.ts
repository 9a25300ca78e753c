// Hand-written from docs/app-commands.md until ts-rs generates this file from src-tauri/src/types.rs.
export type RecordView = {
  id: string;
  name: string;
  /** "allergies", "medications", "conditions", "observations", "immunizations", "procedures", "documents", "patient", "other" or "file". */
  category: string;
  title: string;
  detail: string | null;
  date: string | null;
  resourceType: string | null;
  size: number;
  version: number;
};
