#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = carekey_qr::decode(data);
});
