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
    /// What [`Window::probe`] / [`Window::probed`] measured, per action.
    pub(crate) measured: Vec<Responsiveness>,
}

/// How responsive the window stayed while one action ran, as the page itself saw it.
#[derive(Debug, Clone)]
pub(crate) struct Responsiveness {
    /// The action, in the user's words.
    pub(crate) action: String,
    /// From the probe's start to its reading, ms.
    pub(crate) span_ms: f64,
    /// The largest gap between two ticks of a 10 ms `setInterval` heartbeat in the page: how
    /// long the web view's JS thread was busy at a stretch.
    pub(crate) max_gap_ms: f64,
    pub(crate) ticks: u64,
    /// When that gap began (ms after the probe's start) and the route shown when it ended.
    pub(crate) gap_at: Option<(f64, String)>,
    /// The largest round trip of a trivial IPC command (the event plugin's `unlisten` of a
    /// listener that does not exist) issued 20 ms after the previous answer. Every IPC request
    /// and its answer pass through the app's GTK main thread, and this one touches no wallet
    /// lock, so it is bounded by how long the main thread was unavailable.
    pub(crate) max_ipc_ms: f64,
    pub(crate) ipc_calls: u64,
    /// The same for `app_status`, which also waits for the wallet's lock (held by a long
    /// command): how long a status refresh would hang.
    pub(crate) max_status_ms: f64,
    pub(crate) status_calls: u64,
    /// `PerformanceObserver` long tasks (> 50 ms), when the engine reports them.
    pub(crate) long_tasks: Option<(u64, f64)>,
    /// Errors the pings met (none expected).
    pub(crate) errors: Vec<String>,
}

/// Installs the heartbeat and the two ping loops (replacing a running probe).
const PROBE_START: &str = r#"
    const old = window.__carekeyProbe;
    if (old) old.stop();
    const now = performance.now();
    const p = { t0: now, last: now, maxGap: 0, ticks: 0, running: true, errors: [],
                loops: {}, longTasks: null };
    p.timer = setInterval(() => {
        const t = performance.now();
        if (t - p.last > p.maxGap) {
            p.maxGap = t - p.last;
            p.gapAt = { start: p.last - p.t0, route: location.hash };
        }
        p.last = t;
        p.ticks += 1;
    }, 10);
    let observer = null;
    try {
        if ((PerformanceObserver.supportedEntryTypes || []).includes('longtask')) {
            p.longTasks = { n: 0, max: 0 };
            observer = new PerformanceObserver((list) => {
                for (const e of list.getEntries()) {
                    p.longTasks.n += 1;
                    p.longTasks.max = Math.max(p.longTasks.max, e.duration);
                }
            });
            observer.observe({ type: 'longtask' });
        }
    } catch (e) { p.errors.push('longtask: ' + e); }
    const invoke = window.__TAURI_INTERNALS__.invoke;
    const loop = async (name, call) => {
        const l = p.loops[name] = { n: 0, max: 0, since: null };
        while (p.running) {
            l.since = performance.now();
            try { await call(); } catch (e) { if (p.errors.length < 5) p.errors.push(name + ': ' + JSON.stringify(e)); }
            l.max = Math.max(l.max, performance.now() - l.since);
            l.since = null;
            l.n += 1;
            await new Promise((r) => setTimeout(r, 20));
        }
    };
    loop('ipc', () => invoke('plugin:event|unlisten', { event: 'carekey-probe', eventId: 4294967295 }));
    loop('status', () => invoke('app_status', {}));
    p.stop = () => { p.running = false; clearInterval(p.timer); if (observer) observer.disconnect(); };
    window.__carekeyProbe = p;
    return true;
"#;

/// Stops the probe and reports it; a gap or a call still open counts up to now.
const PROBE_READ: &str = r#"
    const p = window.__carekeyProbe;
    if (!p) return null;
    window.__carekeyProbe = null;
    const now = performance.now();
    p.stop();
    const loop = (name) => {
        const l = p.loops[name];
        // A call still waiting counts, with its wait so far.
        return l.since === null ? { n: l.n, max: l.max } : { n: l.n + 1, max: Math.max(l.max, now - l.since) };
    };
    return { span: now - p.t0, maxGap: Math.max(p.maxGap, now - p.last), ticks: p.ticks,
             gapAt: p.gapAt || null,
             ipc: loop('ipc'), status: loop('status'), longTasks: p.longTasks, errors: p.errors };
"#;

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
            measured: Vec::new(),
        }
    }

    /// Starts measuring responsiveness (see [`Responsiveness`]) before an action.
    pub(crate) async fn probe(&self) {
        self.c.execute(PROBE_START, vec![]).await.unwrap();
    }

    /// Ends the measurement [`Window::probe`] started, once `action` has finished, and keeps it.
    pub(crate) async fn probed(&mut self, action: &str) -> Responsiveness {
        let v = self.c.execute(PROBE_READ, vec![]).await.unwrap();
        assert!(
            !v.is_null(),
            "{action}: the responsiveness probe is gone (did the page reload?)"
        );
        let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
        let n = |v: &Value| v.as_u64().unwrap_or(0);
        let r = Responsiveness {
            action: action.to_owned(),
            span_ms: f(&v["span"]),
            max_gap_ms: f(&v["maxGap"]),
            ticks: n(&v["ticks"]),
            gap_at: v["gapAt"].is_object().then(|| {
                (
                    f(&v["gapAt"]["start"]),
                    v["gapAt"]["route"].as_str().unwrap_or_default().to_owned(),
                )
            }),
            max_ipc_ms: f(&v["ipc"]["max"]),
            ipc_calls: n(&v["ipc"]["n"]),
            max_status_ms: f(&v["status"]["max"]),
            status_calls: n(&v["status"]["n"]),
            long_tasks: v["longTasks"]
                .is_object()
                .then(|| (n(&v["longTasks"]["n"]), f(&v["longTasks"]["max"]))),
            errors: v["errors"]
                .as_array()
                .map(|a| a.iter().map(|e| e.to_string()).collect())
                .unwrap_or_default(),
        };
        self.measured.push(r.clone());
        r
    }

    /// The measurements so far as a Markdown table (what docs/performance.md shows).
    pub(crate) fn responsiveness_table(&self) -> String {
        let mut t = String::from(
            "| action | span ms | max heartbeat gap ms (ticks) | gap from ms, on | max IPC round trip ms (calls) | max app_status ms (calls) | long tasks |\n\
             |---|---:|---:|---|---:|---:|---|\n",
        );
        for r in &self.measured {
            let long = match r.long_tasks {
                Some((n, max)) => format!("{n} (max {max:.0} ms)"),
                None => "not reported".to_owned(),
            };
            t.push_str(&format!(
                "| {} | {:.0} | {:.0} ({}) | {} | {:.0} ({}) | {:.0} ({}) | {} |\n",
                r.action,
                r.span_ms,
                r.max_gap_ms,
                r.ticks,
                r.gap_at
                    .as_ref()
                    .map_or_else(String::new, |(at, route)| format!("{at:.0}, {route}")),
                r.max_ipc_ms,
                r.ipc_calls,
                r.max_status_ms,
                r.status_calls,
                long
            ));
        }
        t
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
