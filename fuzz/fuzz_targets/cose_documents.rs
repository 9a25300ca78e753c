#![no_main]
use carekey_model::{SignedDirectory, SignedGrant, SignedRequest, SignedRevocation, SignedTombstone};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = SignedRequest::from_bytes(data);
    let _ = SignedGrant::from_bytes(data);
    let _ = SignedRevocation::from_bytes(data);
    let _ = SignedTombstone::from_bytes(data);
    let _ = SignedDirectory::from_bytes(data);
});
