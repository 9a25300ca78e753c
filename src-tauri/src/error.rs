//! The one error shape the UI sees: `{ code, message }`.

use carekey_wallet::WalletError;

use crate::types::AppError;

impl AppError {
    pub(crate) fn new(code: &str, message: impl Into<String>) -> Self {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            reason: None,
            issuer: None,
        }
    }

    /// The wallet is locked (or was never unlocked in this session).
    pub(crate) fn locked() -> Self {
        Self::new("locked", "the wallet is locked: unlock it first")
    }

    /// Input the command cannot use (bad base64, an empty list…).
    pub(crate) fn bad_input(message: impl Into<String>) -> Self {
        Self::new("bad_input", message)
    }

    /// A file the app itself reads or writes (not the wallet).
    pub(crate) fn io(action: &str, path: &str, e: std::io::Error) -> Self {
        Self::new("io", format!("{action} {path}: {e}"))
    }

    /// Something that should not happen (a worker thread died).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new("internal", message)
    }
}

impl From<WalletError> for AppError {
    fn from(e: WalletError) -> Self {
        let mut error = Self::new(e.code(), e.to_string());
        if let WalletError::Card(card) = &e {
            error.reason = card.refusal().map(str::to_owned);
            error.issuer = card.issuer().map(str::to_owned);
        }
        error
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}
