//! A mock-runtime app on a temporary home, and a provider to make requests with.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use carekey_app::{AppConfig, Core, StoreChoice};
use carekey_wallet::{FileStore, KdfParams, Passphrase, ProviderWallet, RequestSpec};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use tempfile::TempDir;

pub(crate) const PASSPHRASE: &str = "correct horse battery staple";

pub(crate) struct TestApp {
    pub(crate) dir: TempDir,
    pub(crate) core: Core,
    pub(crate) app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
}

impl TestApp {
    pub(crate) fn new(embedded_node: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let core = Core::start(AppConfig {
            home: dir.path().join("home"),
            kdf: KdfParams::TEST,
            store: StoreChoice::File,
            embedded_node,
        })
        .unwrap();
        let app = carekey_app::build(mock_builder(), core.clone())
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        TestApp {
            dir,
            core,
            app,
            webview,
        }
    }

    /// Invokes `cmd` as the UI would (`invoke(cmd, args)`), returning the JSON result or the
    /// JSON error.
    pub(crate) fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: tauri::test::INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|body| body.deserialize::<Value>().unwrap())
    }

    /// `call` that must succeed.
    pub(crate) fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// `call` that must fail with `code`.
    pub(crate) fn fails(&self, cmd: &str, args: Value, code: &str) -> Value {
        let err = self
            .call(cmd, args)
            .expect_err(&format!("{cmd} should have failed with {code}"));
        assert_eq!(err["code"], code, "{cmd}: {err}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{err}"
        );
        err
    }

    pub(crate) fn create_wallet(&self) -> Value {
        self.ok(
            "create_wallet",
            json!({ "passphrase": PASSPHRASE, "keyring": false }),
        )
    }

    /// A new wallet with the bundle's records imported and a backup written: the recovery
    /// kit and the backup's path.
    pub(crate) fn wallet_with_a_backup(&self) -> (Value, Value) {
        let kit = self.create_wallet();
        let bundle = self.path("bundle.json");
        write_bundle(&bundle);
        self.ok("import_files", json!({ "paths": [bundle] }));
        let backup = self.ok("backup", json!({ "path": self.path("w.backup") }))["path"].clone();
        (kit, backup)
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A FHIR R4 bundle with an allergy and a lab result.
pub(crate) fn write_bundle(path: &Path) {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            { "resource": {
                "resourceType": "AllergyIntolerance",
                "id": "pen",
                "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
                "code": { "text": "Penicillin" },
                "patient": { "reference": "Patient/1" },
                "recordedDate": "2024-03-01"
            }},
            { "resource": {
                "resourceType": "Observation",
                "id": "glucose",
                "status": "final",
                "code": { "text": "Glucose" },
                "subject": { "reference": "Patient/1" },
                "effectiveDateTime": "2024-05-02",
                "valueQuantity": { "value": 6.3, "unit": "mmol/L" }
            }}
        ]
    });
    std::fs::write(path, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
}

/// A provider wallet in `dir`.
pub(crate) fn provider(dir: &Path) -> ProviderWallet {
    ProviderWallet::create(
        &dir.join("provider"),
        "Dr Alice Example",
        &Passphrase::new("provider pass".into()),
        KdfParams::TEST,
        Box::new(FileStore::new(dir.join("provider.device"))),
    )
    .unwrap()
}

/// A signed request for every AllergyIntolerance, naming `nodes`, as a `carekey:` URI.
pub(crate) fn allergy_request(provider: &mut ProviderWallet, nodes: &[String]) -> String {
    provider
        .request(
            &RequestSpec {
                record_ids: vec![],
                resource_types: vec!["AllergyIntolerance".into()],
                purpose: "treatment".into(),
                duration_secs: 3600,
                nodes: nodes.to_vec(),
                valid_for_secs: 600,
            },
            now(),
        )
        .unwrap()
        .to_uri()
}
