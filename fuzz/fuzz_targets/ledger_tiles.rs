#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data) {
        let _ = carekey_ledger::tiles::TileId::parse(path);
    }
    if let Ok(entries) = carekey_ledger::tiles::decode_bundle(
        data,
        1 + data.first().copied().unwrap_or(0) as usize % 256,
    ) {
        for e in entries {
            let _ = carekey_model::ledger::Entry::from_bytes(&e);
        }
    }
    let _ = carekey_model::ledger::Entry::from_bytes(data);
    // The node serves partial tiles as prefixes of wider ones.
    let width = u16::from(data.first().copied().unwrap_or(0));
    if let Some(prefix) =
        carekey_ledger::tiles::tile_prefix(carekey_ledger::tiles::TileKind::Entries, data, width)
    {
        assert!(carekey_ledger::tiles::decode_bundle(prefix, usize::from(width)).is_ok());
    }
});
