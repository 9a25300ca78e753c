//! The app's native GTK file dialogs (tauri-plugin-dialog → rfd → `GtkFileChooserDialog`),
//! driven from outside with `xdotool` on the rig's display: find the dialog by its title,
//! focus it, type a path, press Enter. There is no window manager under Xvfb, so the dialog
//! is focused explicitly (`windowfocus`, not `windowactivate`).
//!
//! Everything waits by polling with a bounded timeout; if the keys went in before the dialog
//! was ready for them (the dialog is still open after Enter), the path is typed again.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a dialog may take to open or to close.
const PATIENCE: Duration = Duration::from_secs(20);
/// How many times the path is typed before giving up.
const ATTEMPTS: u32 = 3;

/// Which kind of dialog, which decides how the path is typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An open dialog: Ctrl+L opens its location field.
    Open,
    /// A save dialog: its name field has the focus and a suggested name; Ctrl+A replaces it
    /// (GTK takes an absolute path there).
    Save,
}

/// `xdotool` on one display.
#[derive(Debug)]
pub(crate) struct Xdo {
    bin: PathBuf,
    display: String,
}

impl Xdo {
    pub(crate) fn new(bin: PathBuf, display: &str) -> Xdo {
        Xdo {
            bin,
            display: display.to_owned(),
        }
    }

    /// Runs xdotool; (success, stdout + stderr).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(&self.bin)
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .unwrap_or_else(|e| panic!("xdotool {args:?}: {e}"));
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// The visible windows titled exactly `title`.
    fn windows(&self, title: &str) -> Vec<String> {
        let pattern = format!("^{}$", regex_escape(title));
        let (_, out) = self.run(&["search", "--onlyvisible", "--name", &pattern]);
        out.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    }

    /// Waits for the dialog titled `title` to be shown; its window id.
    pub(crate) async fn wait_for(&self, title: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(id) = self.windows(title).pop() {
                return id;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "no window titled {title:?} appeared within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Gives the keyboard focus to window `id` and waits (boundedly) until the X server says it
    /// has it. (`windowfocus --sync` would wait without a bound.)
    async fn focus(&self, id: &str) {
        let (ok, out) = self.run(&["windowfocus", id]);
        assert!(ok, "xdotool could not focus window {id}: {out}");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if self.run(&["getwindowfocus"]).1.trim() == id {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Type anyway: the retries in `answer` cover keys that went elsewhere.
        eprintln!("window {id} did not report the focus within 2 s");
    }

    /// Waits up to `limit` for the dialog titled `title` to be gone.
    async fn closed(&self, title: &str, limit: Duration) -> bool {
        let start = Instant::now();
        while !self.windows(title).is_empty() {
            if start.elapsed() > limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }

    /// Answers the open dialog titled `title` with `path`: waits for it, types the path, presses
    /// Enter, and waits for it to close.
    pub(crate) async fn answer(&self, title: &str, mode: Mode, path: &Path) {
        let path = path.to_str().expect("temp paths are UTF-8");
        let id = self.wait_for(title).await;
        for attempt in 1..=ATTEMPTS {
            self.focus(&id).await;
            let select = match mode {
                Mode::Open => "ctrl+l",
                Mode::Save => "ctrl+a",
            };
            for args in [
                &["key", "--clearmodifiers", select][..],
                &["type", "--delay", "8", path][..],
            ] {
                let (ok, out) = self.run(args);
                assert!(ok, "xdotool {args:?}: {out}");
            }
            // GTK checks the typed path asynchronously and ignores Enter until it has (the
            // Open button stays greyed out): press Enter again while the dialog stays open.
            // A second Enter goes only after a whole second without the dialog closing, long
            // after GTK has handled the first, so no Enter falls through to the app's window.
            for enters in 1..=5 {
                let (ok, out) = self.run(&["key", "--clearmodifiers", "Return"]);
                assert!(ok, "xdotool key Return: {out}");
                if self.closed(title, Duration::from_secs(1)).await {
                    println!(
                        "the dialog {title:?} took the path (attempt {attempt}, Enter ×{enters})"
                    );
                    return;
                }
            }
            // Still open: the keys went in before the dialog took them, or the location
            // field completed something else. Type again.
            eprintln!("the dialog {title:?} is still open after attempt {attempt}; typing again");
        }
        panic!("the dialog {title:?} did not take the path {path} after {ATTEMPTS} attempts");
    }
}

/// `s` with the characters of an extended regular expression escaped (xdotool `--name`).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
