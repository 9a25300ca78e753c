/**
 * The one typed interface the screens use to reach the wallet (docs/app-commands.md).
 * Two implementations: `tauri.ts` (the only module that imports `@tauri-apps/api`) and `mock.ts`.
 */
import type { AccessView } from '../bindings/AccessView';
import type { AppStatus } from '../bindings/AppStatus';
import type { BackupView } from '../bindings/BackupView';
import type { BackupPlaceView } from '../bindings/BackupPlaceView';
import type { CardView } from '../bindings/CardView';
import type { CreateLinkArgs } from '../bindings/CreateLinkArgs';
import type { CreatedLinkView } from '../bindings/CreatedLinkView';
import type { DirectoryView } from '../bindings/DirectoryView';
import type { GrantDetailView } from '../bindings/GrantDetailView';
import type { GrantView } from '../bindings/GrantView';
import type { HealthLinkDetailView } from '../bindings/HealthLinkDetailView';
import type { HealthLinkOpenView } from '../bindings/HealthLinkOpenView';
import type { HealthLinkView } from '../bindings/HealthLinkView';
import type { HomeView } from '../bindings/HomeView';
import type { LedgerStatusView } from '../bindings/LedgerStatusView';
import type { ImportProgress } from '../bindings/ImportProgress';
import type { IssuerView } from '../bindings/IssuerView';
import type { MyQr } from '../bindings/MyQr';
import type { NodeRemovalView } from '../bindings/NodeRemovalView';
import type { PatientSummaryView } from '../bindings/PatientSummaryView';
import type { ReceiptView } from '../bindings/ReceiptView';
import type { RecordDetail } from '../bindings/RecordDetail';
import type { RecordView } from '../bindings/RecordView';
import type { RecoveryKitView } from '../bindings/RecoveryKitView';
import type { RequestView } from '../bindings/RequestView';
import type { RevokeResult } from '../bindings/RevokeResult';
import type { ShortenResult } from '../bindings/ShortenResult';
import type { SettingsView } from '../bindings/SettingsView';
import type { ShareResult } from '../bindings/ShareResult';
import type { SyncView } from '../bindings/SyncView';

export interface CreateWalletArgs { passphrase: string; keyring: boolean }
export interface UnlockArgs { /** `null`: unlock with the OS keyring. */ passphrase: string | null }
export interface ChangePassphraseArgs { newPassphrase: string }
export interface SetKeyringUnlockArgs { enabled: boolean }
export interface BackupArgs { path: string }
/**
 * `replaceExisting`: a wallet is already on this device (forgotten passphrase, or restore from
 * Settings). It is moved aside (never deleted) before the restored one takes its place.
 */
export interface RestoreWalletArgs { words: string[]; backupPath: string; passphrase: string; replaceExisting?: boolean }
export interface ImportFilesArgs { paths: string[] }
export interface RecordIdArgs { id: string }
export interface ExportRecordArgs { id: string; path: string }
export interface ReviewRequestArgs { uri: string | null; imageBase64: string | null }
export interface ShareArgs {
  uri: string;
  recordIds: string[];
  resourceTypes: string[];
  /** Shorter than requested, or `null` for the requested duration. */
  durationSecs: number | null;
  confirmNodes: boolean;
}
export interface GrantIdArgs { grantId: string }
/** End a grant early: the new end (unix seconds), before its current end. */
export interface ShortenGrantArgs { grantId: string; endsAt: number }
/** A folder for backups (`folder: null` turns scheduled backups off). */
export interface BackupScheduleArgs { folder: string | null; everyDays: number }
export interface PathArgs { path: string }
/** A signed provider directory file, and the directory's key the patient got from a source they trust. */
export interface AddDirectoryArgs { path: string; key: string }
export interface DirectoryKeyArgs { key: string }
/** The window's language (`en`, `de`): the OS notifications speak it. */
export interface LanguageArgs { language: string }
export interface SaveTextArgs { path: string; text: string }
/**
 * A SMART Health Card: a file (`path`: a `.smart-health-card` file, or a PNG/JPEG picture of
 * its QR code) or scanned text (`text`: `shc:/…`). One of the two.
 */
export interface ImportCardArgs { path?: string; text?: string }
/** A card issuer's address, as its cards name it (`https://…`). */
export interface IssuerArgs { url: string }
/** `noWitness`: pin a remote node without any witness, knowingly (its results are "not independently checked"). */
export interface AddNodeArgs { url: string; logKey: string; witnessKeys: string[]; quorum: number; noWitness?: boolean }
export interface RemoveNodeArgs { url: string }
export interface MoveNodeArgs { from: string; to: string }
export interface WitnessPolicyArgs { witnessKeys: string[]; quorum: number }
/** A SMART Health Link (issue 11). */
export interface LinkIdArgs { linkId: string }

export type Unsubscribe = () => void;

export interface Backend {
  /** "tauri" or "mock": shown in the footer so a tester always knows which one runs. */
  readonly kind: 'tauri' | 'mock';

  appStatus(): Promise<AppStatus>;
  createWallet(args: CreateWalletArgs): Promise<RecoveryKitView>;
  unlock(args: UnlockArgs): Promise<void>;
  lock(): Promise<void>;
  changePassphrase(args: ChangePassphraseArgs): Promise<void>;
  setKeyringUnlock(args: SetKeyringUnlockArgs): Promise<void>;
  backup(args: BackupArgs): Promise<BackupView>;
  restoreWallet(args: RestoreWalletArgs): Promise<void>;
  listRecords(): Promise<RecordView[]>;
  importFiles(args: ImportFilesArgs): Promise<RecordView[]>;
  recordDetail(args: RecordIdArgs): Promise<RecordDetail>;
  exportRecord(args: ExportRecordArgs): Promise<number>;
  reviewRequest(args: ReviewRequestArgs): Promise<RequestView>;
  share(args: ShareArgs): Promise<ShareResult>;
  myQr(): Promise<MyQr>;
  listGrants(): Promise<GrantView[]>;
  revoke(args: GrantIdArgs): Promise<RevokeResult>;
  accessLog(): Promise<AccessView[]>;
  sync(): Promise<SyncView>;
  eraseRecord(args: RecordIdArgs): Promise<ReceiptView>;
  eraseGrant(args: GrantIdArgs): Promise<ReceiptView>;
  eraseAll(): Promise<ReceiptView>;
  saveText(args: SaveTextArgs): Promise<void>;
  settings(): Promise<SettingsView>;
  addNode(args: AddNodeArgs): Promise<void>;
  /** Unpins a node; the writes waiting for it are dropped. */
  removeNode(args: RemoveNodeArgs): Promise<NodeRemovalView>;
  /** The same log at a new URL: keeps its key and verified history. */
  moveNode(args: MoveNodeArgs): Promise<void>;
  /** The witnesses required of nodes confirmed from a provider's request. */
  setWitnessPolicy(args: WitnessPolicyArgs): Promise<void>;

  /** The home screen: who can see what, backups, the ledger's state. */
  home(): Promise<HomeView>;
  /** A grant's page: its records, the provider check, every access under it. */
  grantDetail(args: GrantIdArgs): Promise<GrantDetailView>;
  /** Ends a grant earlier than it would (the ledger nodes refuse it from then on). */
  shortenGrant(args: ShortenGrantArgs): Promise<ShortenResult>;
  /** The patient has looked at the access log: the unseen badge goes to 0. */
  markAccessesSeen(): Promise<void>;
  /** What the last background check found (no network). */
  ledgerStatus(): Promise<LedgerStatusView>;
  /** Checks now (a sync when unlocked, the locked watch otherwise); also emits `ledger-update`. */
  checkNow(): Promise<LedgerStatusView>;
  /** Whether a folder is a safe place for backups (off this disk). */
  backupPlace(args: PathArgs): Promise<BackupPlaceView>;
  /** Scheduled backups into a folder (`folder: null`: off). */
  setBackupSchedule(args: BackupScheduleArgs): Promise<void>;
  /** Provider directories the patient trusts. */
  listDirectories(): Promise<DirectoryView[]>;
  addDirectory(args: AddDirectoryArgs): Promise<DirectoryView>;
  removeDirectory(args: DirectoryKeyArgs): Promise<void>;
  /** Tells the app the window's language, for its OS notifications. */
  setLanguage(args: LanguageArgs): Promise<void>;

  /**
   * Imports SMART Health Cards (one file may hold several): a trusted issuer's card is checked
   * (and refused, `card_refused`, when it does not verify); any other is kept "not verified"
   * without asking anyone.
   */
  importCard(args: ImportCardArgs): Promise<CardView[]>;
  /** Imported health cards, newest first. */
  listCards(): Promise<CardView[]>;
  /** The card issuers whose cards are checked. */
  listIssuers(): Promise<IssuerView[]>;
  addIssuer(args: IssuerArgs): Promise<IssuerView>;
  removeIssuer(args: IssuerArgs): Promise<void>;
  /** The patient summary (International Patient Summary) of the records, in plain words. */
  patientSummary(): Promise<PatientSummaryView>;
  /** Keeps the patient summary as a record (a copy as of now). */
  savePatientSummary(): Promise<RecordView>;
  /** Writes the patient summary as FHIR JSON: the bytes written. */
  exportPatientSummary(args: PathArgs): Promise<number>;
  /** SMART Health Links (issue 11, ADR 0016): a link and QR any clinic's viewer opens. */
  createLink(args: CreateLinkArgs): Promise<CreatedLinkView>;
  /** Every link, newest first. */
  listLinks(): Promise<HealthLinkView[]>;
  /** A link's page: the link, its QR while it works, its logged opens. */
  linkDetail(args: LinkIdArgs): Promise<HealthLinkDetailView>;
  /** Every logged request for a link, newest first (the viewer's own claim of who it is). */
  linkOpens(): Promise<HealthLinkOpenView[]>;
  /** A long-term link's records as they are now. */
  updateLink(args: LinkIdArgs): Promise<HealthLinkView>;
  /** Ends a link: its node deletes the files (those who downloaded them keep them). */
  endLink(args: LinkIdArgs): Promise<HealthLinkView>;

  /** `ledger-update` events after every background check (unlocked or locked). */
  onLedgerUpdate(listener: (status: LedgerStatusView) => void): Promise<Unsubscribe>;
  /** `import-progress` events while `importFiles` runs. */
  onImportProgress(listener: (progress: ImportProgress) => void): Promise<Unsubscribe>;
  /** Files dropped on the window, as paths the backend can read. */
  onFileDrop(listener: (paths: string[]) => void): Promise<Unsubscribe>;
  /**
   * Paths for files chosen in an `<input type=file>`. The webview hides real paths, so the Tauri
   * backend returns `[]` (the screen then asks for a dropped file or a typed path); the mock
   * returns the file names.
   */
  pathsOfFiles(files: readonly File[]): string[];
  /**
   * The platform's own open-file dialog, for importing records. `null` where there is none
   * (the browser mock: the screen then uses an `<input type=file>`); `[]` when cancelled.
   */
  chooseFiles(title: string): Promise<string[] | null>;
  /** The platform's own save dialog; `null` where there is none, or when cancelled. */
  chooseSavePath(title: string, suggested: string): Promise<string | null>;
  /** The platform's own folder chooser; `null` where there is none, or when cancelled. */
  chooseFolder(title: string): Promise<string | null>;
}

/** Method name → Tauri command name: the whole contract in one table. */
export const COMMANDS = {
  appStatus: 'app_status',
  createWallet: 'create_wallet',
  unlock: 'unlock',
  lock: 'lock',
  changePassphrase: 'change_passphrase',
  setKeyringUnlock: 'set_keyring_unlock',
  backup: 'backup',
  restoreWallet: 'restore_wallet',
  listRecords: 'list_records',
  importFiles: 'import_files',
  recordDetail: 'record_detail',
  exportRecord: 'export_record',
  reviewRequest: 'review_request',
  share: 'share',
  myQr: 'my_qr',
  listGrants: 'list_grants',
  revoke: 'revoke',
  accessLog: 'access_log',
  sync: 'sync',
  eraseRecord: 'erase_record',
  eraseGrant: 'erase_grant',
  eraseAll: 'erase_all',
  saveText: 'save_text',
  settings: 'settings',
  addNode: 'add_node',
  removeNode: 'remove_node',
  moveNode: 'move_node',
  setWitnessPolicy: 'set_witness_policy',
  home: 'home',
  grantDetail: 'grant_detail',
  shortenGrant: 'shorten_grant',
  markAccessesSeen: 'mark_accesses_seen',
  ledgerStatus: 'ledger_status',
  checkNow: 'check_now',
  backupPlace: 'backup_place',
  setBackupSchedule: 'set_backup_schedule',
  listDirectories: 'list_directories',
  addDirectory: 'add_directory',
  removeDirectory: 'remove_directory',
  setLanguage: 'set_language',
  importCard: 'import_card',
  listCards: 'list_cards',
  listIssuers: 'list_issuers',
  addIssuer: 'add_issuer',
  removeIssuer: 'remove_issuer',
  patientSummary: 'patient_summary',
  savePatientSummary: 'save_patient_summary',
  exportPatientSummary: 'export_patient_summary',
  createLink: 'create_link',
  listLinks: 'list_links',
  linkDetail: 'link_detail',
  linkOpens: 'link_opens',
  updateLink: 'update_link',
  endLink: 'end_link',
} as const satisfies Record<string, string>;

export type CommandMethod = keyof typeof COMMANDS;

/** The Tauri event carrying import progress. */
export const IMPORT_PROGRESS_EVENT = 'import-progress';

/** The Tauri event carrying what a background ledger check found. */
export const LEDGER_UPDATE_EVENT = 'ledger-update';
