#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut input = data;
    if let Ok(header) = carekey_crypto::age::read_header(&mut input) {
        // A parsed header re-encodes and parses again to the same bytes.
        let bytes = header.to_bytes();
        let again = carekey_crypto::age::read_header(&mut &bytes[..]).expect("re-encoded header parses");
        assert_eq!(again.to_bytes(), bytes);
    }
});
