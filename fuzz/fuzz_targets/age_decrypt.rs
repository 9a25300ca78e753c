#![no_main]
use std::sync::OnceLock;

static IDENTITY: OnceLock<carekey_crypto::age::Identity> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let id = IDENTITY.get_or_init(|| carekey_crypto::age::Identity::from_bytes([7; 32]));
    let _ = carekey_crypto::age::decrypt(std::slice::from_ref(id), data, std::io::sink());
});
