//! Reads: the checkpoint, tiles (HTTP and the data directory as a static mirror), OpenAPI,
//! restart.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use carekey_ledger::note::open_checkpoint;
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{root_from_tiles, tiles_for_size, TileError, TileId, TileSource};

use crate::support::*;

struct Tiles(Mutex<HashMap<TileId, Vec<u8>>>);

impl TileSource for Tiles {
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, TileError> {
        self.0
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or(TileError::BadPath {
                reason: "not fetched",
            })
    }
}

async fn append_erasures(t: &TestNode, n: u64) -> Vec<(Vec<u8>, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let e = one_time_erasure(i);
        let (status, json) = t.post_json("/v1/entries", entry_body(e.as_bytes())).await;
        assert_eq!(status, StatusCode::OK);
        out.push((
            e.as_bytes().to_vec(),
            json["receipt"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

#[tokio::test]
async fn empty_log_checkpoint() {
    let t = TestNode::new();
    let (status, headers, body) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["cache-control"], "no-store");
    let opened =
        open_checkpoint(std::str::from_utf8(&body).unwrap(), &t.verifier(), &[], NOW).unwrap();
    assert_eq!(opened.checkpoint.size, 0);
    assert_eq!(opened.checkpoint.origin, ORIGIN);
    assert_eq!(
        t.call(Method::GET, "/tile/0/000", &[], vec![]).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn tiles_reproduce_the_root_over_http_and_from_the_data_dir() {
    let t = TestNode::new();
    // Cross a full tile so both full and partial tiles and a level-1 tile exist.
    let entries = append_erasures(&t, 300).await;
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let opened =
        open_checkpoint(std::str::from_utf8(&cp).unwrap(), &t.verifier(), &[], NOW).unwrap();
    let size = opened.checkpoint.size;
    assert_eq!(size, 300);
    let tiles = Tiles(Mutex::new(HashMap::new()));
    for id in tiles_for_size(size) {
        let (status, headers, body) = t
            .call(Method::GET, &format!("/{}", id.path()), &[], vec![])
            .await;
        assert_eq!(status, StatusCode::OK, "{id}");
        let expected_cache = if id.is_full() {
            "public, max-age=31536000, immutable"
        } else {
            "no-store"
        };
        assert_eq!(headers["cache-control"], expected_cache, "{id}");
        // The data directory is a static mirror: the same bytes at the same path.
        let on_disk = std::fs::read(t.dir.path().join(id.path())).unwrap();
        assert_eq!(on_disk, body.to_vec(), "{id}");
        tiles.0.lock().unwrap().insert(id, body.to_vec());
    }
    assert_eq!(
        root_from_tiles(&tiles, size).unwrap(),
        opened.checkpoint.root
    );
    assert_eq!(
        std::fs::read(t.dir.path().join("checkpoint")).unwrap(),
        cp.to_vec()
    );
    // Every receipt verifies, and old receipts are consistent with the latest checkpoint.
    for (i, (entry, receipt)) in entries.iter().enumerate() {
        let r = Receipt::parse(receipt).unwrap();
        assert_eq!(r.index, i as u64);
        let old = r.verify(entry, &t.verifier(), &[], NOW).unwrap();
        let proof =
            carekey_ledger::tiles::consistency_proof_from_tiles(&tiles, old.checkpoint.size, size)
                .unwrap();
        carekey_ledger::verify_consistency(
            old.checkpoint.size,
            size,
            &old.checkpoint.root,
            &opened.checkpoint.root,
            &proof,
        )
        .unwrap();
    }
    // Tiles beyond the log and non-canonical paths are 404.
    for path in [
        "/tile/0/001",
        "/tile/1/000.p/2",
        "/tile/entries/x000/000",
        "/tile/9/000",
        "/tile/../checkpoint",
    ] {
        let (status, _, body) = t.call(Method::GET, path, &[], vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"].is_string());
    }
    // A partial tile the log has outgrown is still a valid prefix.
    assert_eq!(
        t.call(Method::GET, "/tile/entries/001.p/44", &[], vec![])
            .await
            .0,
        StatusCode::OK
    );
}

/// Under concurrent appends the node serves partial tiles from memory and writes them to disk
/// only from time to time; every width a client may ask for is still served (as a prefix of
/// the widest tile the node has), and once the appends stop the data directory is again a
/// consistent static mirror of exactly what the node serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_serve_every_partial_width_and_leave_a_consistent_mirror() {
    let t = TestNode::new();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..600u64 {
        let state = t.state.clone();
        tasks.spawn(async move {
            let e = one_time_erasure(10_000 + i);
            let body = entry_body(e.as_bytes()).to_string().into_bytes();
            let headers = [("content-type", "application/json".to_owned())];
            call(&state, Method::POST, "/v1/entries", &headers, body)
                .await
                .0
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let opened =
        open_checkpoint(std::str::from_utf8(&cp).unwrap(), &t.verifier(), &[], NOW).unwrap();
    assert_eq!(opened.checkpoint.size, 600);
    // Every width of every entry bundle and level-0 tile, full or partial, is the prefix of
    // the widest one.
    for (kind, tiles) in [("entries/", 3u64), ("0/", 3)] {
        for index in 0..tiles {
            let widest = if index < 2 { 256 } else { 600 - 512 };
            let full_path = if widest == 256 {
                format!("/tile/{kind}{index:03}")
            } else {
                format!("/tile/{kind}{index:03}.p/{widest}")
            };
            let (status, _, full) = t.call(Method::GET, &full_path, &[], vec![]).await;
            assert_eq!(status, StatusCode::OK, "{full_path}");
            for w in 1..widest {
                let path = format!("/tile/{kind}{index:03}.p/{w}");
                let (status, _, body) = t.call(Method::GET, &path, &[], vec![]).await;
                assert_eq!(status, StatusCode::OK, "{path}");
                let id = TileId::parse(&path[1..]).unwrap();
                let want = carekey_ledger::tiles::tile_prefix(id.kind, &full, w).unwrap();
                assert_eq!(&body[..], want, "{path}");
            }
        }
    }
    // The data directory now holds exactly what the node serves for this checkpoint.
    assert_eq!(
        std::fs::read(t.dir.path().join("checkpoint")).unwrap(),
        cp.to_vec()
    );
    let tiles = Tiles(Mutex::new(HashMap::new()));
    for id in tiles_for_size(600) {
        let (_, _, body) = t
            .call(Method::GET, &format!("/{}", id.path()), &[], vec![])
            .await;
        let on_disk = std::fs::read(t.dir.path().join(id.path())).unwrap();
        assert_eq!(on_disk, body.to_vec(), "{id}");
        tiles.0.lock().unwrap().insert(id, on_disk);
    }
    assert_eq!(
        root_from_tiles(&tiles, 600).unwrap(),
        opened.checkpoint.root
    );
}

#[tokio::test]
async fn restart_keeps_the_log_and_continues() {
    let t = TestNode::new();
    let entries = append_erasures(&t, 5).await;
    let (_, _, before) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let t = t.restart();
    let (_, _, after) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    assert_eq!(before, after, "no new checkpoint without new entries");
    let more = append_erasures(&t, 1).await;
    let r = Receipt::parse(&more[0].1).unwrap();
    assert_eq!(r.index, 5);
    // Re-submitting an entry from before the restart gives its old index.
    let (status, json) = t.post_json("/v1/entries", entry_body(&entries[2].0)).await;
    assert_eq!((status, json["index"].as_u64()), (StatusCode::OK, Some(2)));
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let t = TestNode::new();
    let (status, headers, body) = t.call(Method::GET, "/v1/openapi.json", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/checkpoint", "get"),
        ("/tile/{path}", "get"),
        ("/v1/entries", "post"),
        ("/v1/grants/{grant_id}/bundle", "put"),
        ("/v1/grants/{grant_id}/fetch", "post"),
        ("/v1/grants/{grant_id}", "delete"),
        ("/v1/links/{link_id}", "put"),
        ("/v1/links/{link_id}", "delete"),
        ("/v1/links/{link_id}", "post"),
        ("/v1/links/{link_id}", "options"),
        ("/v1/links/{link_id}/files/{n}", "get"),
        ("/v1/links/{link_id}/files/{n}", "options"),
        ("/v1/health", "get"),
        ("/v1/openapi.json", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
    }
    let (status, _, body) = t.call(Method::GET, "/nope", &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
        "not_found"
    );
}

/// Every file under `dir`, by path (leftover `.tmp` files skipped).
fn files_under(
    dir: &std::path::Path,
    out: &mut std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else if path.extension().is_none_or(|x| x != "tmp") {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
}

#[tokio::test]
async fn after_a_reboot_torn_tiles_and_checkpoint_are_rewritten_from_the_database() {
    let t = TestNode::new();
    // One batch per append: a partial tile of every width on disk, a full tile, level 1.
    append_erasures(&t, 260).await;
    let (_, _, before) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let mut files = std::collections::BTreeMap::new();
    files_under(&t.dir.path().join("tile"), &mut files);
    assert!(files.len() > 2 * 260, "{} tile files", files.len());
    // Tiles and the checkpoint are written without fsync: after a power loss they may be
    // empty, truncated or zero-filled. Simulate that, and a start under another boot id.
    for (i, (path, bytes)) in files.iter().enumerate() {
        let torn = match i % 3 {
            0 => Vec::new(),
            1 => bytes[..bytes.len() / 2].to_vec(),
            _ => vec![0u8; bytes.len()],
        };
        std::fs::write(path, torn).unwrap();
    }
    std::fs::write(t.dir.path().join("checkpoint"), b"\0\0\0torn").unwrap();
    {
        let db = rusqlite::Connection::open(t.dir.path().join("node.sqlite3")).unwrap();
        db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('tiles_synced_boot', 'another boot')",
            [],
        )
        .unwrap();
    }
    let t = t.restart();
    // The same checkpoint (Ed25519 is deterministic), every file back byte for byte.
    let (status, _, after) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(before, after);
    assert_eq!(
        std::fs::read(t.dir.path().join("checkpoint")).unwrap(),
        before.to_vec()
    );
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(path).unwrap(), bytes, "{}", path.display());
    }
    // The node recorded this boot (where the OS has a boot id) and appends on.
    if let Ok(boot) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") {
        let db = rusqlite::Connection::open(t.dir.path().join("node.sqlite3")).unwrap();
        let recorded: String = db
            .query_row(
                "SELECT value FROM meta WHERE key = 'tiles_synced_boot'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(recorded, boot.trim());
    }
    let more = append_erasures(&t, 1).await;
    assert_eq!(Receipt::parse(&more[0].1).unwrap().index, 260);
}

#[tokio::test]
async fn a_restart_in_the_same_boot_keeps_the_files_and_rewrites_only_past_the_checkpoint() {
    let t = TestNode::new();
    append_erasures(&t, 3).await;
    let (_, _, before) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let partial = t.dir.path().join("tile/0/000.p/3");
    let mtime = std::fs::metadata(&partial).unwrap().modified().unwrap();
    let t = t.restart();
    let (_, _, after) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    assert_eq!(before, after);
    // No rewrite on a restart without a reboot (the rewrite-everything path was not taken).
    assert_eq!(
        std::fs::metadata(&partial).unwrap().modified().unwrap(),
        mtime
    );
}
