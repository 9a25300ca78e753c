#![no_main]
// SMART Health Link files (JWE compact, dir + A256GCM, optional zip DEF) under a fixed key;
// the seed corpus holds files encrypted under it, so mutations reach the header checks, the
// AES-GCM tag check and the inflater.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let key = carekey_crypto::SymmetricKey::from_bytes([7; 32]);
        let _ = carekey_model::shl::jwe::decrypt(&key, text);
    }
});
