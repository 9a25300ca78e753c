#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = carekey_model::GrantBundle::from_bytes(data);
});
