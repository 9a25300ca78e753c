//! The app window through WebDriver: finding things the way a person does (headings, labels,
//! button and link texts), waiting for them, and screenshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::Value;

/// How long any one thing may take to appear.
const PATIENCE: Duration = Duration::from_secs(30);

/// An XPath string literal for `s` (which may hold either kind of quote).
pub(crate) fn lit(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// The session, and where screenshots go (none unless `CAREKEY_SCREENSHOTS=1`).
#[derive(Debug)]
pub(crate) struct Window {
    pub(crate) c: Client,
    shots: Option<PathBuf>,
    /// Every screenshot taken, in order (also when not saved).
    pub(crate) taken: Vec<String>,
}

impl Window {
    pub(crate) fn new(c: Client) -> Window {
        let shots = (std::env::var("CAREKEY_SCREENSHOTS").as_deref() == Ok("1")).then(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("docs")
                .join("screenshots")
        });
        Window {
            c,
            shots,
            taken: Vec::new(),
        }
    }

    /// The first element matching `xpath`, waiting for it.
    pub(crate) async fn wait(&self, xpath: &str) -> Element {
        let found = self
            .c
            .wait()
            .at_most(PATIENCE)
            .every(Duration::from_millis(100))
            .for_element(Locator::XPath(xpath))
            .await;
        match found {
            Ok(el) => el,
            Err(e) => {
                let seen = self.evidence().await;
                panic!("nothing matched {xpath} within {PATIENCE:?} ({e}); {seen}")
            }
        }
    }

    /// What the window shows, for a failure message: its main text, and a screenshot saved
    /// in cargo's temp dir for tests.
    async fn evidence(&self) -> String {
        let text = match self.c.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        };
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("window-failure.png");
        let saved = match self.c.screenshot().await {
            Ok(png) => std::fs::write(&path, png).is_ok(),
            Err(_) => false,
        };
        format!(
            "the window shows:\n{text}\n{}",
            if saved {
                format!("(screenshot: {})", path.display())
            } else {
                "(no screenshot)".to_owned()
            }
        )
    }

    /// Every element matching `xpath` now.
    pub(crate) async fn all(&self, xpath: &str) -> Vec<Element> {
        self.c.find_all(Locator::XPath(xpath)).await.unwrap()
    }

    /// Waits until the main area's heading reads `title`.
    pub(crate) async fn heading(&self, title: &str) -> Element {
        self.wait(&format!("//main//h1[normalize-space()={}]", lit(title)))
            .await
    }

    /// Waits until the page shows `text` somewhere inside an element matching `within`.
    pub(crate) async fn text_in(&self, within: &str, text: &str) -> Element {
        self.wait(&format!(
            "{within}[contains(normalize-space(.), {})]",
            lit(text)
        ))
        .await
    }

    /// The visible text of the main area.
    pub(crate) async fn main_text(&self) -> String {
        self.c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The button whose text is `label` (waiting for it to be there and enabled).
    pub(crate) async fn button(&self, label: &str) -> Element {
        self.wait(&format!(
            "//button[normalize-space()={} and not(@disabled)]",
            lit(label)
        ))
        .await
    }

    pub(crate) async fn click_button(&self, label: &str) {
        self.button(label).await.click().await.unwrap();
    }

    /// The form control a `<label>` reading `label` is for.
    pub(crate) async fn labelled(&self, label: &str) -> Element {
        let l = self
            .wait(&format!("//label[normalize-space()={}]", lit(label)))
            .await;
        let id = l
            .attr("for")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("the label {label:?} names no control"));
        self.c.find(Locator::Id(&id)).await.unwrap()
    }

    /// Types `text` into the control labelled `label`.
    pub(crate) async fn type_into(&self, label: &str, text: &str) {
        let input = self.labelled(label).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Ticks the checkbox labelled `label`.
    pub(crate) async fn tick(&self, label: &str) {
        let input = self.labelled(label).await;
        if !input.is_selected().await.unwrap() {
            input.click().await.unwrap();
        }
        assert!(input.is_selected().await.unwrap(), "{label} did not tick");
    }

    /// Scrolls the first element matching `xpath` to the top of the window.
    pub(crate) async fn scroll_to(&self, xpath: &str) {
        let el = self.wait(xpath).await;
        self.c
            .execute(
                "arguments[0].scrollIntoView({ block: 'start' });",
                vec![serde_json::to_value(&el).unwrap()],
            )
            .await
            .unwrap();
    }

    /// Follows the main navigation link `label` from the keyboard (so the pointer leaves no
    /// hover highlight on the navigation in screenshots) and waits for the screen's heading.
    pub(crate) async fn nav(&self, label: &str, title: &str) {
        self.wait(&format!("//nav//a[normalize-space()={}]", lit(label)))
            .await
            .send_keys(&char::from(Key::Enter).to_string())
            .await
            .unwrap();
        self.heading(title).await;
    }

    /// Runs `invoke(cmd, args)` in the window, as the UI's Tauri backend does.
    pub(crate) async fn invoke(&self, cmd: &str, args: Value) -> Value {
        let script = r#"
            const [cmd, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(
                (ok) => done({ ok }),
                (err) => done({ err: err ?? 'rejected' }));
        "#;
        let out = self
            .c
            .execute_async(script, vec![Value::from(cmd), args])
            .await
            .unwrap();
        match out.get("ok") {
            Some(ok) => ok.clone(),
            None => panic!("{cmd} failed in the window: {out}"),
        }
    }

    /// Lets the window settle (fonts, images, the last re-render), then takes a screenshot;
    /// saves it as `docs/screenshots/<name>.png` when `CAREKEY_SCREENSHOTS=1`.
    pub(crate) async fn shot(&mut self, name: &str) {
        // Wait until nothing is busy (spinners, loading placeholders).
        let start = Instant::now();
        while !self.all("//*[@aria-busy='true']").await.is_empty() {
            assert!(start.elapsed() < PATIENCE, "{name}: still busy");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Two animation frames: the last change has been painted, not just laid out.
        self.c
            .execute_async(
                "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .unwrap();
        let png = self.c.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        self.taken.push(name.to_owned());
        if let Some(dir) = &self.shots {
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        }
    }
}
