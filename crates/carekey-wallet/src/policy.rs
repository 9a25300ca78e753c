//! Rules a shell must not re-invent: the passphrase policy. (The default share choice is
//! [`crate::ShareChoice::everything_asked`]; pinning a node on this device is
//! [`crate::LedgerLink::pin_local_node`].)

use carekey_vault::Passphrase;

use crate::WalletError;

/// The shortest passphrase a vault accepts, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Passwords attackers try first; refused even when long enough.
const COMMON: &[&str] = &[
    "password",
    "passw0rd",
    "password1",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "iloveyou",
    "football",
    "baseball",
    "sunshine",
    "princess",
    "trustno1",
    "superman",
    "changeme",
    "whatever",
    "starwars",
    "computer",
    "passphrase",
    "mypassword",
    "letmein1",
];

/// Checks a new passphrase against the wallet's policy: at least [`MIN_PASSPHRASE_CHARS`]
/// characters and not one of the passwords attackers try first. Called by every way a
/// passphrase is set (create, restore, change), whichever shell asks; a shell may show a
/// strength estimate while the patient types, but this is the rule.
pub fn check_passphrase(passphrase: &Passphrase) -> Result<(), WalletError> {
    let text = passphrase.expose();
    if text.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(WalletError::WeakPassphrase(format!(
            "the passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters (a few random words are best)"
        )));
    }
    if COMMON.contains(&text.trim().to_lowercase().as_str()) {
        return Err(WalletError::WeakPassphrase(
            "this passphrase is one of the first an attacker tries: use a few random words"
                .to_owned(),
        ));
    }
    Ok(())
}
