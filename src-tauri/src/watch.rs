//! The background ledger checks (issue 10): accesses arrive by themselves.
//!
//! A thread of its own checks every few minutes (`CAREKEY_CHECK_EVERY_SECS`, default 180), at
//! once after every unlock, and whenever the UI asks (`check_now`: the window regained focus,
//! the home screen or the access log opened). Unlocked, a check is the ledger agent's sync
//! (the wallet lock is held only to snapshot and apply) plus a scheduled backup when one is
//! due. Locked, the wallet cannot be read; the check runs the wallet's [`LockedWatch`] — the
//! public half of the last sync, kept in memory when the wallet locked — which verifies the
//! logs and notices a new access event for one of this wallet's grants without any key, so
//! the app can say "something new happened, unlock to see" and nothing more.
//!
//! After each check the app emits `ledger-update` ([`LedgerStatusView`]) to the window and
//! shows an OS notification for a new access, a grant about to expire and a ledger alarm.
//! Notifications carry no names or record titles: they can show on a screen others see.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use carekey_wallet::agent::{self, LockedWatch};
use carekey_wallet::{Home, LedgerProblem, PatientWallet};

use crate::commands::count;
use crate::core::Core;
use crate::types::{LedgerProblemKind, LedgerProblemView, LedgerStatusView};

/// The event the window listens to.
pub const LEDGER_UPDATE: &str = "ledger-update";

/// How often the background check runs when nothing wakes it.
const DEFAULT_EVERY: Duration = Duration::from_secs(180);

/// An OS notification to show: title and body, in plain words and without details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The title.
    pub title: &'static str,
    /// The body.
    pub body: String,
}

/// The languages the notifications speak (the window's language setting, `set_language`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Language {
    /// English (the default).
    #[default]
    English,
    /// German.
    German,
}

impl Language {
    /// `"de…"` is German; anything else English.
    pub(crate) fn from_tag(tag: &str) -> Self {
        if tag.trim().to_ascii_lowercase().starts_with("de") {
            Language::German
        } else {
            Language::English
        }
    }
}

/// What a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum About {
    NewAccesses(usize),
    EndingSoon,
    Alarm,
    NewWhileLocked,
}

fn notice(lang: Language, about: About) -> Notice {
    use Language::{English, German};
    let (title, body) = match (about, lang) {
        (About::NewAccesses(1), English) => (
            "New access to your records",
            "Someone you share with read your records. Open Carekey to see who.".to_owned(),
        ),
        (About::NewAccesses(n), English) => (
            "New access to your records",
            format!("{n} new accesses to your records. Open Carekey to see who."),
        ),
        (About::NewAccesses(1), German) => (
            "Neuer Zugriff auf Ihre Daten",
            "Jemand, mit dem Sie teilen, hat Ihre Einträge gelesen. Öffnen Sie Carekey, um zu sehen, wer.".to_owned(),
        ),
        (About::NewAccesses(n), German) => (
            "Neuer Zugriff auf Ihre Daten",
            format!("{n} neue Zugriffe auf Ihre Einträge. Öffnen Sie Carekey, um zu sehen, wer."),
        ),
        (About::EndingSoon, English) => (
            "Sharing ends soon",
            "Access you gave ends within three days. Open Carekey to share again, or let it end.".to_owned(),
        ),
        (About::EndingSoon, German) => (
            "Teilen endet bald",
            "Ein Zugriff, den Sie gewährt haben, endet in den nächsten drei Tagen. Öffnen Sie Carekey, um erneut zu teilen, oder lassen Sie ihn enden.".to_owned(),
        ),
        (About::Alarm, English) => (
            "Carekey alarm",
            "A ledger node was caught giving false information. Open Carekey for what to do.".to_owned(),
        ),
        (About::Alarm, German) => (
            "Carekey-Warnung",
            "Ein Ledger-Knoten hat nachweislich falsche Angaben gemacht. Öffnen Sie Carekey, um zu sehen, was zu tun ist.".to_owned(),
        ),
        (About::NewWhileLocked, English) => (
            "Something new in Carekey",
            "Unlock Carekey to see what happened.".to_owned(),
        ),
        (About::NewWhileLocked, German) => (
            "Etwas Neues in Carekey",
            "Entsperren Sie Carekey, um zu sehen, was passiert ist.".to_owned(),
        ),
    };
    Notice { title, body }
}

/// What the checks share with the commands.
#[derive(Debug, Default)]
pub(crate) struct Watch {
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct WatchState {
    status: LedgerStatusView,
    /// Kept from the moment the wallet locked; taken out while a check runs.
    locked_watch: Option<LockedWatch>,
    /// Grants already announced as expiring soon (once each).
    expiring_told: BTreeSet<String>,
    /// An alarm already announced (once, until it is gone).
    alarm_told: bool,
    /// A check was asked for.
    woken: bool,
    /// The language of the notifications.
    language: Language,
}

impl Watch {
    fn state(&self) -> MutexGuard<'_, WatchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the background thread to check now (after an unlock).
    pub(crate) fn wake(&self) {
        self.state().woken = true;
        self.wake.notify_all();
    }

    /// Waits until woken or `every` passed.
    fn wait(&self, every: Duration) {
        let guard = self.state();
        let (mut guard, _) = self
            .wake
            .wait_timeout_while(guard, every, |s| !s.woken)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.woken = false;
    }

    /// The wallet is locking: keep the public half of its last sync for the locked checks.
    pub(crate) fn keep_locked_watch(&self, wallet: &mut PatientWallet, now: u64) {
        let watch = wallet.ledger().locked_watch(now);
        let mut state = self.state();
        state.locked_watch = Some(watch);
        state.status = LedgerStatusView {
            locked: true,
            checked_at: state.status.checked_at,
            ..LedgerStatusView::default()
        };
    }

    /// The notifications' language (the window's setting).
    pub(crate) fn set_language(&self, language: Language) {
        self.state().language = language;
    }

    /// What the last check found.
    pub(crate) fn last(&self) -> LedgerStatusView {
        self.state().status.clone()
    }
}

impl Core {
    fn language(&self) -> Language {
        self.watch().state().language
    }

    /// One check now (blocking network work: call it off the UI thread). Returns what the
    /// window is told and the notifications to show.
    pub(crate) fn check(&self, now: u64) -> (LedgerStatusView, Vec<Notice>) {
        match agent::sync(self, now) {
            Ok(report) => {
                let backup = self
                    .if_unlocked(|w| w.backups().run_scheduled(now))
                    .flatten();
                if matches!(backup, Some(Ok(_))) {
                    // The backup's key share goes to the nodes like any other write.
                    self.publish(now);
                }
                match self.if_unlocked(|w| self.ledger_numbers(w, now)) {
                    Some((status, expiring)) => {
                        let notices =
                            self.notices_unlocked(&status, report.new_access_events, expiring);
                        (status, notices)
                    }
                    None => self.check_locked(now),
                }
            }
            // Locked before or during the sync.
            Err(_) if self.slot().is_none() => self.check_locked(now),
            Err(e) => {
                // Unlocked but the sync could not run (the wallet's state could not be saved):
                // keep what was known, say when it was checked last.
                eprintln!("carekey-app: background check: {e}");
                (self.watch().last(), Vec::new())
            }
        }
    }

    /// The unlocked numbers, from the wallet's own rules, and the grants expiring soon.
    fn ledger_numbers(&self, w: &mut PatientWallet, now: u64) -> (LedgerStatusView, Vec<String>) {
        let home = w.overview().home(now);
        let expiring = home
            .holders
            .iter()
            .filter(|h| h.ends_soon)
            .map(|h| h.grant.id.to_string())
            .collect();
        (unlocked_view(&home), expiring)
    }

    fn notices_unlocked(
        &self,
        status: &LedgerStatusView,
        new_accesses: usize,
        expiring: Vec<String>,
    ) -> Vec<Notice> {
        // Read before the state is locked below (the same mutex).
        let lang = self.language();
        let mut notices = Vec::new();
        if new_accesses > 0 {
            notices.push(notice(lang, About::NewAccesses(new_accesses)));
        }
        let mut state = self.watch().state();
        let fresh: Vec<String> = expiring
            .into_iter()
            .filter(|id| !state.expiring_told.contains(id))
            .collect();
        if !fresh.is_empty() {
            notices.push(notice(lang, About::EndingSoon));
            state.expiring_told.extend(fresh);
        }
        let alarm = matches!(status.problem, Some(p) if p.kind == LedgerProblemKind::Alarm);
        if alarm && !state.alarm_told {
            notices.push(notice(lang, About::Alarm));
        }
        state.alarm_told = alarm;
        state.status = status.clone();
        notices
    }

    /// Locked: the public watch only. Says that something new happened, never what.
    fn check_locked(&self, now: u64) -> (LedgerStatusView, Vec<Notice>) {
        let lang = self.language();
        let taken = self.watch().state().locked_watch.take();
        let news = taken.map(|mut watch| {
            let news = watch.check(now);
            self.watch().state().locked_watch = Some(watch);
            news
        });
        let mut state = self.watch().state();
        let something = news.is_some_and(|n| n.new_accesses > 0 || n.alarm);
        let mut notices = Vec::new();
        if something && !state.status.new_while_locked {
            notices.push(notice(lang, About::NewWhileLocked));
        }
        state.status = LedgerStatusView {
            locked: true,
            checked_at: if news.is_some_and(|n| n.verified > 0) {
                Some(now)
            } else {
                state.status.checked_at
            },
            new_while_locked: state.status.new_while_locked || something,
            ..LedgerStatusView::default()
        };
        (state.status.clone(), notices)
    }

    /// What the window shows now: the wallet's numbers when it is unlocked and free, else what
    /// the last check found.
    pub(crate) fn ledger_status(&self, now: u64) -> LedgerStatusView {
        let fresh = match self.try_wallet() {
            Some(mut slot) => slot.as_mut().map(|w| self.ledger_numbers(w, now).0),
            None => None,
        };
        match fresh {
            Some(status) => status,
            None => self.watch().last(),
        }
    }
}

/// Runs the background checks until the process ends: every `CAREKEY_CHECK_EVERY_SECS`
/// (default 180 s), at once when woken. `deliver` hands each result to the window and the OS.
pub(crate) fn start(core: Core, deliver: impl Fn(&LedgerStatusView, &[Notice]) + Send + 'static) {
    let every = std::env::var("CAREKEY_CHECK_EVERY_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_EVERY, Duration::from_secs);
    let spawned = std::thread::Builder::new()
        .name("ledger-watch".into())
        .spawn(move || loop {
            core.watch().wait(every);
            let Ok(now) = crate::core::now() else {
                continue;
            };
            let (status, notices) = core.check(now);
            deliver(&status, &notices);
        });
    if let Err(e) = spawned {
        eprintln!("carekey-app: could not start the background ledger checks: {e}");
    }
}

/// What the window is told about an unlocked wallet, from its home.
pub(crate) fn unlocked_view(home: &Home) -> LedgerStatusView {
    LedgerStatusView {
        locked: false,
        checked_at: home.checked_at,
        unseen_accesses: count(home.unseen_accesses),
        expiring_soon: count(home.expiring_soon),
        problem: home.problem.map(problem_view),
        new_while_locked: false,
    }
}

fn problem_view(p: LedgerProblem) -> LedgerProblemView {
    let (kind, nodes) = match p {
        LedgerProblem::Alarm { nodes } => (LedgerProblemKind::Alarm, nodes),
        LedgerProblem::Unverified { nodes } => (LedgerProblemKind::Unverified, nodes),
        LedgerProblem::Unreachable { nodes } => (LedgerProblemKind::Unreachable, nodes),
    };
    LedgerProblemView {
        kind,
        nodes: count(nodes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_speak_the_windows_language_and_name_nobody() {
        assert_eq!(Language::from_tag("de-DE"), Language::German);
        assert_eq!(Language::from_tag("en"), Language::English);
        assert_eq!(Language::from_tag("fr"), Language::English);
        for lang in [Language::English, Language::German] {
            for about in [
                About::NewAccesses(1),
                About::NewAccesses(3),
                About::EndingSoon,
                About::Alarm,
                About::NewWhileLocked,
            ] {
                let n = notice(lang, about);
                assert!(!n.title.is_empty() && !n.body.is_empty(), "{n:?}");
            }
        }
        assert!(notice(Language::German, About::NewAccesses(3))
            .body
            .starts_with("3 neue Zugriffe"));
        assert_eq!(
            notice(Language::German, About::Alarm).title,
            "Carekey-Warnung"
        );
    }
}
