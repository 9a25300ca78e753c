/** The only module that imports Tauri (CONVENTIONS 13): `invoke` for commands, events for progress and drops. */
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { open, save } from '@tauri-apps/plugin-dialog';

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
import { toBackendError } from './errors';
import {
  COMMANDS,
  IMPORT_PROGRESS_EVENT,
  LEDGER_UPDATE_EVENT,
  type AddDirectoryArgs,
  type BackupScheduleArgs,
  type DirectoryKeyArgs,
  type ImportCardArgs,
  type IssuerArgs,
  type LanguageArgs,
  type LinkIdArgs,
  type PathArgs,
  type ShortenGrantArgs,
  type AddNodeArgs,
  type MoveNodeArgs,
  type RemoveNodeArgs,
  type WitnessPolicyArgs,
  type Backend,
  type BackupArgs,
  type ChangePassphraseArgs,
  type CommandMethod,
  type CreateWalletArgs,
  type ExportRecordArgs,
  type GrantIdArgs,
  type ImportFilesArgs,
  type RecordIdArgs,
  type RestoreWalletArgs,
  type ReviewRequestArgs,
  type SaveTextArgs,
  type SetKeyringUnlockArgs,
  type ShareArgs,
  type UnlockArgs,
  type Unsubscribe,
} from './types';

async function call<T>(method: CommandMethod, args?: object): Promise<T> {
  try {
    return await invoke<T>(COMMANDS[method], args as Record<string, unknown> | undefined);
  } catch (e) {
    throw toBackendError(e);
  }
}

export class TauriBackend implements Backend {
  readonly kind = 'tauri' as const;

  appStatus() { return call<AppStatus>('appStatus'); }
  createWallet(a: CreateWalletArgs) { return call<RecoveryKitView>('createWallet', a); }
  unlock(a: UnlockArgs) { return call<void>('unlock', a); }
  lock() { return call<void>('lock'); }
  changePassphrase(a: ChangePassphraseArgs) { return call<void>('changePassphrase', a); }
  setKeyringUnlock(a: SetKeyringUnlockArgs) { return call<void>('setKeyringUnlock', a); }
  backup(a: BackupArgs) { return call<BackupView>('backup', a); }
  restoreWallet(a: RestoreWalletArgs) { return call<void>('restoreWallet', a); }
  listRecords() { return call<RecordView[]>('listRecords'); }
  importFiles(a: ImportFilesArgs) { return call<RecordView[]>('importFiles', a); }
  recordDetail(a: RecordIdArgs) { return call<RecordDetail>('recordDetail', a); }
  exportRecord(a: ExportRecordArgs) { return call<number>('exportRecord', a); }
  reviewRequest(a: ReviewRequestArgs) { return call<RequestView>('reviewRequest', a); }
  share(a: ShareArgs) { return call<ShareResult>('share', a); }
  myQr() { return call<MyQr>('myQr'); }
  listGrants() { return call<GrantView[]>('listGrants'); }
  revoke(a: GrantIdArgs) { return call<RevokeResult>('revoke', a); }
  accessLog() { return call<AccessView[]>('accessLog'); }
  sync() { return call<SyncView>('sync'); }
  eraseRecord(a: RecordIdArgs) { return call<ReceiptView>('eraseRecord', a); }
  eraseGrant(a: GrantIdArgs) { return call<ReceiptView>('eraseGrant', a); }
  eraseAll() { return call<ReceiptView>('eraseAll'); }
  saveText(a: SaveTextArgs) { return call<void>('saveText', a); }
  settings() { return call<SettingsView>('settings'); }
  addNode(a: AddNodeArgs) { return call<void>('addNode', a); }
  removeNode(a: RemoveNodeArgs) { return call<NodeRemovalView>('removeNode', a); }
  moveNode(a: MoveNodeArgs) { return call<void>('moveNode', a); }
  setWitnessPolicy(a: WitnessPolicyArgs) { return call<void>('setWitnessPolicy', a); }

  home() { return call<HomeView>('home'); }
  grantDetail(a: GrantIdArgs) { return call<GrantDetailView>('grantDetail', a); }
  shortenGrant(a: ShortenGrantArgs) { return call<ShortenResult>('shortenGrant', a); }
  markAccessesSeen() { return call<void>('markAccessesSeen'); }
  ledgerStatus() { return call<LedgerStatusView>('ledgerStatus'); }
  checkNow() { return call<LedgerStatusView>('checkNow'); }
  backupPlace(a: PathArgs) { return call<BackupPlaceView>('backupPlace', a); }
  setBackupSchedule(a: BackupScheduleArgs) { return call<void>('setBackupSchedule', a); }
  listDirectories() { return call<DirectoryView[]>('listDirectories'); }
  addDirectory(a: AddDirectoryArgs) { return call<DirectoryView>('addDirectory', a); }
  removeDirectory(a: DirectoryKeyArgs) { return call<void>('removeDirectory', a); }
  setLanguage(a: LanguageArgs) { return call<void>('setLanguage', a); }
  importCard(a: ImportCardArgs) { return call<CardView[]>('importCard', a); }
  listCards() { return call<CardView[]>('listCards'); }
  listIssuers() { return call<IssuerView[]>('listIssuers'); }
  addIssuer(a: IssuerArgs) { return call<IssuerView>('addIssuer', a); }
  removeIssuer(a: IssuerArgs) { return call<void>('removeIssuer', a); }
  patientSummary() { return call<PatientSummaryView>('patientSummary'); }
  savePatientSummary() { return call<RecordView>('savePatientSummary'); }
  exportPatientSummary(a: PathArgs) { return call<number>('exportPatientSummary', a); }
  // `create_link` takes its choice as one `args` object (docs/app-commands.md).
  createLink(args: CreateLinkArgs) { return call<CreatedLinkView>('createLink', { args }); }
  listLinks() { return call<HealthLinkView[]>('listLinks'); }
  linkDetail(a: LinkIdArgs) { return call<HealthLinkDetailView>('linkDetail', a); }
  linkOpens() { return call<HealthLinkOpenView[]>('linkOpens'); }
  updateLink(a: LinkIdArgs) { return call<HealthLinkView>('updateLink', a); }
  endLink(a: LinkIdArgs) { return call<HealthLinkView>('endLink', a); }

  async onLedgerUpdate(listener: (status: LedgerStatusView) => void): Promise<Unsubscribe> {
    return listen<LedgerStatusView>(LEDGER_UPDATE_EVENT, (event) => listener(event.payload));
  }

  async onImportProgress(listener: (progress: ImportProgress) => void): Promise<Unsubscribe> {
    return listen<ImportProgress>(IMPORT_PROGRESS_EVENT, (event) => listener(event.payload));
  }

  async onFileDrop(listener: (paths: string[]) => void): Promise<Unsubscribe> {
    return getCurrentWebview().onDragDropEvent((event) => {
      if (event.payload.type === 'drop' && event.payload.paths.length > 0) listener(event.payload.paths);
    });
  }

  async chooseFiles(title: string): Promise<string[] | null> {
    try {
      const chosen = await open({ multiple: true, directory: false, title });
      if (chosen === null) return [];
      return Array.isArray(chosen) ? chosen : [chosen];
    } catch (e) {
      throw toBackendError(e);
    }
  }

  async chooseSavePath(title: string, suggested: string): Promise<string | null> {
    try {
      return await save({ title, defaultPath: suggested });
    } catch (e) {
      throw toBackendError(e);
    }
  }

  async chooseFolder(title: string): Promise<string | null> {
    try {
      const chosen = await open({ multiple: false, directory: true, title });
      return Array.isArray(chosen) ? (chosen[0] ?? null) : chosen;
    } catch (e) {
      throw toBackendError(e);
    }
  }

  pathsOfFiles(): string[] {
    // WebKit does not expose a chosen file's path to the page; drops and typed paths carry them.
    return [];
  }
}
