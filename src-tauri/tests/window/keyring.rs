//! The second, short story: the app with `CAREKEY_SECRET_STORE=keyring` against a real
//! gnome-keyring on the rig's own session bus. Onboarding with the keyring opt-in puts the
//! wallet's epoch key and device-unlock secret into the Secret Service (checked with
//! `secret-tool`, not through the app), the wallet unlocks through the keyring path, erasing a
//! record replaces the epoch key item and erasing everything removes every item.
//!
//! With `xdotool` (and always under `CI=true`) it also answers the native GTK dialogs: the
//! recovery kit is saved through the save dialog, the records are imported through the open
//! dialog.

use std::path::Path;

use serde_json::json;

use crate::dialogs::{Mode, Xdo};
use crate::rig::Rig;
use crate::window::Window;
use crate::{connect, write_bundle, PASSPHRASE};

/// The app checks the Secret Service works each time it opens the store with no wallet open
/// (a status refresh on the unlock or welcome screen): it puts, reads back and deletes an item
/// `probe-<random hex>`. One may be there for a moment.
fn is_probe(name: &str) -> bool {
    name.strip_prefix("probe-")
        .is_some_and(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The vault's items: (vault id, sorted item kinds such as `epoch-1`, `unlock`).
fn items_of(rig: &Rig) -> (String, Vec<String>) {
    let names = rig.secret_items();
    let mut id = None;
    let mut kinds = Vec::new();
    for name in names.iter().filter(|n| !is_probe(n)) {
        let (vault, kind) = name
            .split_once('/')
            .unwrap_or_else(|| panic!("an item that is not `<vault-id>/<kind>`: {names:?}"));
        assert!(
            vault.len() == 32 && vault.chars().all(|c| c.is_ascii_hexdigit()),
            "{names:?}"
        );
        assert!(
            id.get_or_insert(vault) == &vault,
            "items of two vaults: {names:?}"
        );
        kinds.push(kind.to_owned());
    }
    (id.unwrap_or_default().to_owned(), kinds)
}

/// Saves the recovery kit through the native save dialog (the "Choose…" beside its file name).
async fn save_kit_through_the_dialog(w: &Window, xdo: &Xdo, root: &Path) {
    let kit = root.join("chosen").join("my-recovery-kit.txt");
    std::fs::create_dir_all(kit.parent().unwrap()).unwrap();
    let field = w.labelled("File name").await;
    w.click("//label[normalize-space()='File name']/..//button[normalize-space()='Choose…']")
        .await;
    xdo.answer("Save the recovery kit", Mode::Save, &kit).await;
    // The dialog's answer reaches the page through an IPC round trip after the dialog closes:
    // wait for it (bounded) rather than read the field once.
    let deadline = std::time::Instant::now() + crate::window::PATIENCE;
    let mut value = String::new();
    while std::time::Instant::now() < deadline {
        value = field.prop("value").await.unwrap().unwrap_or_default();
        if value == kit.to_str().unwrap() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        value,
        kit.to_str().unwrap(),
        "the save dialog's path did not reach the field"
    );
    w.click_button("Save as text file").await;
    w.text_in("//p[contains(@class,'notice')]", "Saved to")
        .await;
    let text = std::fs::read_to_string(&kit)
        .unwrap_or_else(|e| panic!("no recovery kit at {}: {e}", kit.display()));
    let words = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(words, 24, "the saved kit:\n{text}");
}

pub(crate) async fn story(rig: &Rig, xdo: Option<Xdo>) {
    let root = rig.dir.path();
    let mut w = Window::new(connect(rig).await);
    w.heading("Welcome to Carekey").await;
    let status = w.invoke("app_status", json!({})).await;
    let store = status["secretStore"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    println!("the app's secret store: {store}");
    assert!(
        !store.starts_with("file store"),
        "the app did not take the Secret Service: {status}"
    );
    assert!(rig.secret_items().is_empty(), "the keyring is not empty");

    // Onboarding with the keyring opt-in; the create screen names the OS keyring.
    w.click("//a[contains(., 'Create a new wallet')]").await;
    w.heading("Create your wallet").await;
    w.type_into("Passphrase", PASSPHRASE).await;
    w.type_into("Repeat the passphrase", PASSPHRASE).await;
    w.tick("Also unlock on this device without the passphrase (the OS keyring)")
        .await;
    w.click_button("Create wallet").await;
    w.heading("Your recovery kit").await;

    // The epoch key and the device-unlock secret are in the Secret Service, not in a file.
    let (vault, kinds) = items_of(rig);
    assert_eq!(kinds, ["epoch-1", "unlock"], "vault {vault}");
    let home = root.join("home");
    let files: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files.iter().all(|f| !f.ends_with(".device")),
        "a device-secret file beside the vault: {files:?}"
    );

    // The native dialogs: the kit through the save dialog, the records through the open one.
    let bundle = root.join("patient-summary.json");
    write_bundle(&bundle);
    if let Some(xdo) = &xdo {
        save_kit_through_the_dialog(&w, xdo, root).await;
    }
    w.click_button("I have written them down").await;
    // The first backup, to a folder off the wallet's disk (typed under "More").
    w.heading("Make your first backup").await;
    let drive = crate::backup_drive(root);
    crate::type_backup_folder(&w, drive.path()).await;
    crate::first_backup(&mut w, drive.path()).await;
    w.nav("Records", "Records").await;
    if let Some(xdo) = &xdo {
        w.click_button("Add records").await;
        xdo.answer("Add records to Carekey", Mode::Open, &bundle)
            .await;
    } else {
        crate::type_record_path(&w, &bundle).await;
    }
    w.text_in("//p[contains(@class,'notice')]", "Added 6 records")
        .await;

    // Lock; the unlock screen offers the keyring, which opens the wallet without a passphrase.
    w.click("//button[@id='lock']").await;
    w.heading("Unlock your wallet").await;
    w.click_button("Unlock with device keyring").await;
    w.heading("Who can see my records").await;
    let records = w.invoke("list_records", json!({})).await;
    assert_eq!(records.as_array().unwrap().len(), 6, "{records}");

    // Erasing a record rotates the epoch: the old epoch key item is gone, a new one is there.
    w.nav("Records", "Records").await;
    crate::delete_record(&mut w, "Body weight").await;
    let (after, kinds) = items_of(rig);
    assert_eq!(after, vault);
    assert_eq!(kinds, ["epoch-2", "unlock"], "after erasing a record");

    // Erasing everything (Settings, danger zone) leaves nothing of the wallet in the Secret
    // Service.
    w.nav("Settings", "Settings").await;
    w.type_into("Type ERASE to confirm", "ERASE").await;
    w.click_button("Erase everything").await;
    w.click("//dialog[@open]//button[normalize-space()='Erase everything']")
        .await;
    w.heading("Erasure receipt").await;
    w.wait("//button[normalize-space()='Finish'] | //a[normalize-space()='Finish']")
        .await;
    let (_, kinds) = items_of(rig);
    assert_eq!(kinds, Vec::<String>::new(), "after erasing all");
    // And the app's own probe item goes too: soon nothing of Carekey is left.
    let start = std::time::Instant::now();
    loop {
        let left = rig.secret_items();
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "items left in the Secret Service after erasing all: {left:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    w.c.close().await.unwrap();
}
