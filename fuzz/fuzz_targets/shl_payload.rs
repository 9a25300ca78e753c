#![no_main]
// SMART Health Link payloads: `shlink:/…` and viewer links, and the decoded JSON. What parses
// must write back a link that parses to the same link.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use carekey_model::shl::ShlPayload;
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(payload) = ShlPayload::from_uri(text) {
            let uri = payload.to_uri();
            let again = ShlPayload::from_uri(&uri).expect("our own link parses");
            assert_eq!(again.to_uri(), uri);
        }
    }
    let _ = ShlPayload::from_json(data);
});
