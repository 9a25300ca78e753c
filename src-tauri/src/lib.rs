//! The Carekey app: a thin Tauri v2 shell over `carekey-wallet`, with an embedded ledger node.
//!
//! The UI (`ui/`) calls the commands of docs/app-commands.md; each is one call into
//! `carekey-wallet` on a worker thread, its result converted into a view type from [`types`]
//! (exported to `ui/src/bindings/` for the UI). Unless `CAREKEY_NO_EMBEDDED_NODE=1`, the app
//! starts a `carekey-node` ledger node and a witness in-process on 127.0.0.1 and pins them in
//! the wallet, so sharing, fetches, the access log and erasure receipts work offline-first.
//!
//! Nothing depends on this crate; it depends on `carekey-wallet` and `carekey-node` only.
//! [`run`] is the desktop and mobile entry point; [`build`] wires the commands into any
//! [`tauri::Builder`], which is how the tests drive them with Tauri's mock runtime.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod commands;
mod core;
mod error;
mod ledger;
pub mod types;
mod watch;

use tauri::{Manager as _, Runtime};

pub use crate::commands::IMPORT_PROGRESS;
pub use crate::core::{AppConfig, Core, StoreChoice};
pub use crate::ledger::{EmbeddedLedger, LedgerStartError};
pub use crate::watch::{Notice, LEDGER_UPDATE};

/// Registers the shared state and every command of docs/app-commands.md on `builder`.
pub fn build<R: Runtime>(builder: tauri::Builder<R>, core: Core) -> tauri::Builder<R> {
    builder.manage(core).invoke_handler(handler())
}

fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::app_status,
        commands::create_wallet,
        commands::unlock,
        commands::lock,
        commands::change_passphrase,
        commands::set_keyring_unlock,
        commands::backup,
        commands::restore_wallet,
        commands::list_records,
        commands::import_files,
        commands::record_detail,
        commands::export_record,
        commands::review_request,
        commands::share,
        commands::my_qr,
        commands::list_grants,
        commands::revoke,
        commands::access_log,
        commands::sync,
        commands::erase_record,
        commands::erase_grant,
        commands::erase_all,
        commands::save_text,
        commands::settings,
        commands::add_node,
        commands::remove_node,
        commands::move_node,
        commands::set_witness_policy,
        commands::home,
        commands::grant_detail,
        commands::shorten_grant,
        commands::mark_accesses_seen,
        commands::ledger_status,
        commands::check_now,
        commands::backup_place,
        commands::set_backup_schedule,
        commands::list_directories,
        commands::add_directory,
        commands::remove_directory,
        commands::set_language,
        commands::create_link,
        commands::list_links,
        commands::link_detail,
        commands::link_opens,
        commands::update_link,
        commands::end_link,
        commands::import_card,
        commands::list_cards,
        commands::list_issuers,
        commands::add_issuer,
        commands::remove_issuer,
        commands::patient_summary,
        commands::save_patient_summary,
        commands::export_patient_summary,
    ]
}

/// Shows an OS notification (a notification server must run: on Linux a D-Bus session with
/// one, e.g. dunst). Failing to show one is logged, never fatal. Every one is also printed on
/// stderr (`notification: <title>: <body>`), which is how the end-to-end tests see them.
pub(crate) fn notify<R: Runtime>(app: &tauri::AppHandle<R>, notice: &Notice) {
    use tauri_plugin_notification::NotificationExt as _;
    eprintln!("notification: {}: {}", notice.title, notice.body);
    // Only the app registers the plugin ([`run`]); a shell built with [`build`] alone (the
    // command tests) prints the notice and shows nothing.
    if app
        .try_state::<tauri_plugin_notification::Notification<R>>()
        .is_none()
    {
        return;
    }
    if let Err(e) = app
        .notification()
        .builder()
        .title(notice.title)
        .body(&notice.body)
        .show()
    {
        eprintln!("carekey-app: could not show a notification: {e}");
    }
}

/// On Linux without a GPU (no DRM render node), WebKitGTK would composite with Mesa's software
/// OpenGL (llvmpipe), whose threads then compete with the page for the CPU: the page waited up
/// to 200 ms for a paint on the 2-core test machine. Skia's CPU painter is cheaper there, so
/// the app asks for it — unless the user set `WEBKIT_SKIA_ENABLE_CPU_RENDERING` themselves.
/// Runs first, before any thread exists (setting the environment is only sound then).
fn paint_on_the_cpu_without_a_gpu() {
    #[cfg(target_os = "linux")]
    {
        const VAR: &str = "WEBKIT_SKIA_ENABLE_CPU_RENDERING";
        let has_render_node = std::fs::read_dir("/dev/dri").is_ok_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
        });
        if !has_render_node && std::env::var_os(VAR).is_none() {
            std::env::set_var(VAR, "1");
        }
    }
}

/// Runs the app: reads the configuration (see [`AppConfig::from_env`]), starts the embedded
/// ledger, prints `embedded ledger node: <url> <log-key>` on stdout (end-to-end tests read
/// it), and opens the window.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    paint_on_the_cpu_without_a_gpu();
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init());
    #[cfg(mobile)]
    let builder = builder.plugin(tauri_plugin_barcode_scanner::init());
    let result = builder
        .setup(|app| {
            let config = AppConfig::from_env(app.path().app_data_dir()?)?;
            let core = match Core::start(config.clone()) {
                Ok(core) => core,
                Err(e) => {
                    // The wallet works without a ledger (remote nodes can still be pinned).
                    eprintln!("carekey-app: the embedded ledger did not start: {e}");
                    Core::start(AppConfig {
                        embedded_node: false,
                        ..config
                    })?
                }
            };
            if let Some(l) = core.ledger() {
                println!("embedded ledger node: {} {}", l.url, l.log_key);
            }
            let handle = app.handle().clone();
            watch::start(core.clone(), move |status, notices| {
                commands::deliver(&handle, status, notices);
            });
            app.manage(core);
            Ok(())
        })
        .invoke_handler(handler())
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("carekey-app: {e}");
        std::process::exit(1);
    }
}
