#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = carekey_vault::parse_header(data);
    let _ = carekey_vault::parse_state_file(data);
    // Backup headers are read from a file.
    let path = std::env::temp_dir().join(format!("carekey-fuzz-backup-{}", std::process::id()));
    if std::fs::write(&path, data).is_ok() {
        let _ = carekey_vault::Vault::backup_share_needed(&path);
    }
});
