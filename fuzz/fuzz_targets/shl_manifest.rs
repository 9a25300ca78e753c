#![no_main]
// SMART Health Link manifest requests (what a node reads from any viewer) and manifests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use carekey_model::shl::{Manifest, ManifestRequest};
    if let Ok(request) = ManifestRequest::from_json(data) {
        let again = ManifestRequest::from_json(&request.to_json()).expect("our own request parses");
        assert_eq!(again, request);
    }
    if let Ok(manifest) = Manifest::from_json(data) {
        let again = Manifest::from_json(&manifest.to_json()).expect("our own manifest parses");
        assert_eq!(again, manifest);
    }
});
