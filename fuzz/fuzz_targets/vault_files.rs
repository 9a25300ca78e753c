#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = carekey_vault::parse_header(data);
    let _ = carekey_vault::parse_state_file(data);
});
