//! The `carekey-app` binary: the desktop entry point of the Carekey app (see the library).
// No console window next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    carekey_app::run();
}
