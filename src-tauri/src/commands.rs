//! The Tauri commands of docs/app-commands.md, one module per service (the transport layer
//! beside the wallet: input in, one wallet call, a view type out). Each deserialises its input, calls one
//! `carekey-wallet` function on a worker thread (so the window never freezes on Argon2id,
//! big imports or ledger round trips), and converts the result into a view type.

use std::path::Path;

use tauri::State;

use carekey_wallet::{PatientWallet, WalletError};

use crate::core::Core;
use crate::types::AppError;

type Result<T> = std::result::Result<T, AppError>;

/// Runs blocking wallet work on Tauri's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("the wallet worker stopped: {e}")))?
}

/// Runs `f` on the unlocked wallet on the blocking pool.
async fn on_wallet<T: Send + 'static>(
    core: &State<'_, Core>,
    f: impl FnOnce(&mut PatientWallet) -> std::result::Result<T, WalletError> + Send + 'static,
) -> Result<T> {
    let core = core.inner().clone();
    blocking(move || core.with_wallet(f)).await
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

// ------------------------------------------------------------------- the wallet itself

// ------------------------------------------------------------------------------ records

// ------------------------------------------------------------------------------ sharing

// ------------------------------------------------------------------------------- ledger

/// A count for the UI (`u32` on the wire; saturates).
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ------------------------------------------------------------------------------ erasure

// ----------------------------------------------------------------------------- settings

mod cards;
mod erasure;
mod home;
mod ledger;
mod links;
mod records;
mod settings;
mod sharing;
mod summary;
mod wallet;

pub(crate) use cards::*;
pub(crate) use erasure::*;
pub(crate) use home::*;
pub(crate) use ledger::*;
pub(crate) use links::*;
pub use records::IMPORT_PROGRESS;
pub(crate) use records::*;
pub(crate) use settings::*;
pub(crate) use sharing::*;
pub(crate) use summary::*;
pub(crate) use wallet::*;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::sharing::decode_image;
    use super::wallet::Words;
    use super::*;

    #[test]
    fn qr_images_arrive_as_base64_or_data_urls() {
        assert_eq!(decode_image("aGk=").unwrap(), b"hi");
        assert_eq!(decode_image("data:image/png;base64,aGk=\n").unwrap(), b"hi");
        assert_eq!(decode_image("%%").unwrap_err().code, "bad_input");
    }

    #[test]
    fn recovery_words_arrive_as_a_list_or_a_line() {
        let list: Words = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert!(matches!(list, Words::List(w) if w == ["a", "b"]));
        let text: Words = serde_json::from_str(r#""a b""#).unwrap();
        assert!(matches!(text, Words::Text(t) if t == "a b"));
        assert!(serde_json::from_str::<Words>("3").is_err());
    }

    #[test]
    fn wallet_errors_keep_their_code() {
        let e = AppError::from(WalletError::from(carekey_wallet::ShareError::EmptyShare));
        assert_eq!(e.code, "empty_share");
        assert_eq!(
            e.message,
            carekey_wallet::ShareError::EmptyShare.to_string()
        );
        // A service's error keeps its own code through the umbrella type.
        let e = AppError::from(WalletError::from(carekey_wallet::LinkError::UrlTaken(
            "http://127.0.0.1:1".into(),
        )));
        assert_eq!(e.code, "node_url_taken");
    }
}
