#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(Some(resources)) = carekey_model::fhir::split(data) {
        for r in &resources {
            let _ = carekey_model::fhir::summary(r);
        }
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = carekey_model::fhir::consent_terms(&value);
        let _ = carekey_model::fhir::consent_to_grant(&value);
        let _ = carekey_model::fhir::ips::check(&value);
        let _ = carekey_model::fhir::ips::outline(&value);
    }
});
