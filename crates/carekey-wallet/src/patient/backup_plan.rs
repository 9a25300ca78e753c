//! When and where backups are made: the state a patient sees ("last backup 12 days ago"), a
//! schedule into a folder the patient chose, and whether a folder is a safe place at all.
//!
//! The rules live here, not in a shell: a backup is *due* when there is none yet or the newest
//! is older than the schedule's interval (30 days without a schedule); a folder on the same
//! disk as the wallet is lost with the device, so a shell warns before using it.

use std::path::{Path, PathBuf};

use super::backups::{BackupError, Backups};
use crate::state::BackupSchedule;
use crate::WalletError;

/// Without a schedule, a backup older than this is due again.
pub const DEFAULT_BACKUP_INTERVAL_SECS: u64 = 30 * 86_400;

/// The file a scheduled backup writes (and re-writes) inside its folder.
pub const SCHEDULED_BACKUP_FILE: &str = "carekey-backup.ckb";

/// The longest schedule interval a patient can choose.
const MAX_EVERY_DAYS: u32 = 90;

/// Where the patient's backups stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupState {
    /// The newest backup this wallet wrote (unix seconds), and its file.
    pub last: Option<(u64, PathBuf)>,
    /// The schedule, if any.
    pub schedule: Option<ScheduleInfo>,
    /// No backup yet, or the newest is older than the interval.
    pub due: bool,
    /// The current backup key share has not reached a ledger node yet: a backup cannot be
    /// restored until one has it.
    pub share_pending: bool,
}

/// A backup schedule as the patient sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduleInfo {
    /// The folder backups go to.
    pub folder: PathBuf,
    /// Every how many days.
    pub every_days: u32,
    /// When the next one is due (unix seconds).
    pub next_at: u64,
    /// Why the last scheduled backup failed, if it did.
    pub last_problem: Option<String>,
}

/// What the wallet can tell about a folder chosen for backups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupPlace {
    /// The folder exists and a file can be created in it.
    pub writable: bool,
    /// The folder is on the same disk as the wallet: a lost or broken device takes both.
    pub same_disk_as_wallet: bool,
    /// The OS reports the folder's disk as removable or attached over USB.
    pub removable: bool,
}

impl Backups<'_> {
    /// Where backups stand at `now`.
    pub fn state(&self, now: u64) -> BackupState {
        let last = self
            .s
            .state
            .backup_times
            .iter()
            .max_by_key(|(path, at)| (**at, (*path).clone()))
            .map(|(path, at)| (*at, path.clone()));
        let every = self
            .s
            .state
            .backup_schedule
            .as_ref()
            .map_or(DEFAULT_BACKUP_INTERVAL_SECS, |s| s.every_secs);
        let last_at = last.as_ref().map(|(at, _)| *at);
        let schedule = self.s.state.backup_schedule.as_ref().map(|s| {
            let scheduled_last = self
                .s
                .state
                .backup_times
                .get(&s.folder.join(SCHEDULED_BACKUP_FILE))
                .copied();
            ScheduleInfo {
                folder: s.folder.clone(),
                every_days: u32::try_from(s.every_secs / 86_400).unwrap_or(u32::MAX),
                next_at: scheduled_last.map_or(now, |at| at.saturating_add(s.every_secs)),
                last_problem: s.last_problem.clone(),
            }
        });
        BackupState {
            due: last_at.is_none_or(|at| now.saturating_sub(at) >= every),
            last,
            schedule,
            share_pending: !self.share_pending().is_empty(),
        }
    }

    /// Backs up into `folder` every `every_days` days (1–90) while a shell runs the schedule
    /// ([`Self::run_scheduled`]); `None` turns it off.
    pub fn set_schedule(&mut self, schedule: Option<(&Path, u32)>) -> Result<(), WalletError> {
        self.s.state.backup_schedule = match schedule {
            None => None,
            Some((folder, every_days)) => {
                if every_days == 0 || every_days > MAX_EVERY_DAYS {
                    return Err(BackupError::BadInterval(every_days).into());
                }
                let folder = std::path::absolute(folder)
                    .map_err(|e| WalletError::io("resolving", folder, e))?;
                if !folder.is_dir() {
                    return Err(BackupError::FolderMissing(folder).into());
                }
                Some(BackupSchedule {
                    folder,
                    every_secs: u64::from(every_days) * 86_400,
                    last_problem: None,
                })
            }
        };
        self.s.save()
    }

    /// Writes the scheduled backup if one is due at `now`. `None`: no schedule, or not due.
    /// A failure (a drive not plugged in) is kept for the patient to see and returned; the
    /// next call tries again.
    pub fn run_scheduled(&mut self, now: u64) -> Option<Result<PathBuf, WalletError>> {
        let schedule = self.state(now).schedule?;
        if schedule.next_at > now {
            return None;
        }
        let out = schedule.folder.join(SCHEDULED_BACKUP_FILE);
        let result = if schedule.folder.is_dir() {
            self.write(&out, now)
        } else {
            Err(BackupError::FolderMissing(schedule.folder.clone()).into())
        };
        let problem = result.as_ref().err().map(ToString::to_string);
        if let Some(s) = self.s.state.backup_schedule.as_mut() {
            if s.last_problem != problem {
                s.last_problem = problem;
                if let Err(e) = self.s.save() {
                    return Some(Err(e));
                }
            }
        }
        Some(result)
    }

    /// Whether `folder` is a good place for backups of this wallet.
    pub fn place(&self, folder: &Path) -> BackupPlace {
        backup_place(folder, self.s.vault.dir())
    }
}

/// Whether `folder` is a good place for backups of the wallet in `wallet_dir`.
pub fn backup_place(folder: &Path, wallet_dir: &Path) -> BackupPlace {
    let writable = folder.is_dir() && can_create_in(folder);
    let (same_disk_as_wallet, removable) = disk_of(folder)
        .map(|dev| {
            let wallet = disk_of(wallet_dir);
            (wallet == Some(dev), is_removable(dev))
        })
        .unwrap_or((false, false));
    BackupPlace {
        writable,
        same_disk_as_wallet,
        removable,
    }
}

fn can_create_in(folder: &Path) -> bool {
    let probe = folder.join(format!(".carekey-probe-{}", std::process::id()));
    let made = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .is_ok();
    if made {
        let _ = std::fs::remove_file(&probe);
    }
    made
}

#[cfg(unix)]
fn disk_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt as _;
    // The nearest existing ancestor: a wallet folder not created yet is on its parent's disk.
    path.ancestors()
        .find_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.dev())
}

#[cfg(not(unix))]
fn disk_of(_path: &Path) -> Option<u64> {
    None
}

/// Linux: the block device's `removable` flag, or a USB bus in its sysfs path (USB hard disks
/// say `removable = 0`). Elsewhere: unknown (false).
#[cfg(target_os = "linux")]
fn is_removable(dev: u64) -> bool {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let link = PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    let Ok(real) = std::fs::canonicalize(&link) else {
        return false;
    };
    if real.to_string_lossy().contains("/usb") {
        return true;
    }
    // A partition's flag is on its disk (the parent directory).
    [real.join("removable"), real.join("../removable")]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|v| v.trim() == "1")
}

#[cfg(not(target_os = "linux"))]
fn is_removable(_dev: u64) -> bool {
    false
}
