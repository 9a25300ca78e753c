//! The app window through WebDriver: finding things the way a person does (headings, labels,
//! button and link texts), waiting for them, and screenshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::Value;

use crate::threads::{self, Sampler};

/// How long any one thing may take to appear.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

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

/// The main area's heading reading `title`.
pub(crate) fn heading_xpath(title: &str) -> String {
    format!("//main//h1[normalize-space()={}]", lit(title))
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
    /// The app's process and its web process, whose main threads [`Window::act`] samples.
    watched: Vec<(String, u32)>,
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
    /// Every gap over 50 ms (at most 10): start (ms after the probe's start), length, route.
    pub(crate) gaps: Vec<(f64, f64, String)>,
    /// The longest time from an animation-frame callback to a message posted in it: the
    /// engine's style, layout and paint work for one frame.
    pub(crate) max_frame_ms: f64,
    pub(crate) frames: u64,
    /// When that frame began (ms after the probe's start) and the route then.
    pub(crate) frame_at: Option<(f64, String)>,
    /// Whether the action was clicked and awaited from inside the page (no WebDriver command
    /// while it ran; the span is from the click to the result), see [`Window::act`].
    pub(crate) in_page: bool,
    /// How the web process's and the app's main threads spent the largest gap and each gap
    /// over 50 ms (from `/proc`, when watched: see [`Window::watch`]).
    pub(crate) threads: Vec<String>,
    /// The page's `performance.timeOrigin + t0`: the probe's start in epoch ms.
    t0_epoch_ms: f64,
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

/// Installs the heartbeat, the frame timer and the two ping loops (replacing a running probe).
/// Arguments: an XPath that marks the action as done (or `null`: [`Window::probed`] ends it)
/// and an element to click from inside the page (or `null`: the caller acts through
/// WebDriver). With an XPath the probe ends itself `SETTLE_MS` after the mark appears.
const PROBE_START: &str = r#"
    const [until, target, settle] = arguments;
    const old = window.__carekeyProbe;
    if (old) old.stop();
    const now = performance.now();
    const p = { t0: now, last: now, maxGap: 0, ticks: 0, running: true, errors: [],
                loops: {}, longTasks: null, gaps: [], maxFrame: 0, frames: 0,
                clickAt: null, doneAt: null, endAt: null, onEnd: null, until };
    p.timer = setInterval(() => {
        const t = performance.now();
        if (t - p.last > 50 && p.gaps.length < 10) {
            p.gaps.push([p.last - p.t0, t - p.last, location.hash]);
        }
        if (t - p.last > p.maxGap) {
            p.maxGap = t - p.last;
            p.gapAt = { start: p.last - p.t0, route: location.hash };
        }
        p.last = t;
        p.ticks += 1;
    }, 10);
    // The work the engine does for a frame after its animation-frame callbacks (style, layout,
    // paint): from a callback to a message posted in it.
    const ch = new MessageChannel();
    ch.port1.onmessage = (e) => {
        const d = performance.now() - e.data;
        if (d > p.maxFrame) { p.maxFrame = d; p.frameAt = { start: e.data - p.t0, route: location.hash }; }
    };
    const frame = () => {
        if (!p.running) return;
        p.frames += 1;
        ch.port2.postMessage(performance.now());
        requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
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
    let watch = null;
    p.stop = () => {
        p.running = false;
        clearInterval(p.timer);
        if (watch) watch.disconnect();
        if (observer) observer.disconnect();
    };
    p.end = () => {
        if (p.endAt !== null) return;
        p.endAt = performance.now();
        if (p.onEnd) p.onEnd();
    };
    if (until) {
        const found = () => document.evaluate(until, document, null,
            XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null;
        const check = () => {
            if (p.doneAt !== null || !found()) return;
            p.doneAt = performance.now();
            watch.disconnect();
            setTimeout(p.end, settle);
        };
        watch = new MutationObserver(check);
        watch.observe(document.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    }
    if (target) {
        // After this script's own answer has gone back to the driver.
        setTimeout(() => { p.clickAt = performance.now(); target.click(); }, 20);
    }
    window.__carekeyProbe = p;
    return true;
"#;

/// Resolves once the probe has ended itself (see [`PROBE_START`]); meanwhile the driver sends
/// nothing to the page.
const PROBE_ENDED: &str = r#"
    const done = arguments[arguments.length - 1];
    const p = window.__carekeyProbe;
    if (!p) { done(false); return; }
    if (p.endAt !== null) { done(true); return; }
    p.onEnd = () => done(true);
"#;

/// Stops the probe and reports it; a gap or a call still open counts up to now (or up to the
/// probe's own end).
const PROBE_READ: &str = r#"
    const p = window.__carekeyProbe;
    if (!p) return null;
    window.__carekeyProbe = null;
    const now = p.endAt ?? performance.now();
    p.stop();
    const loop = (name) => {
        const l = p.loops[name];
        // A call still waiting counts, with its wait so far.
        return l.since === null ? { n: l.n, max: l.max } : { n: l.n + 1, max: Math.max(l.max, now - l.since) };
    };
    const tail = now - p.last;
    if (tail > p.maxGap) p.gapAt = { start: p.last - p.t0, route: location.hash };
    return { span: (p.doneAt ?? now) - (p.clickAt ?? p.t0), maxGap: Math.max(p.maxGap, tail), ticks: p.ticks,
             gapAt: p.gapAt || null, gaps: p.gaps, t0epoch: performance.timeOrigin + p.t0, maxFrame: p.maxFrame, frameAt: p.frameAt || null,
             frames: p.frames, inPage: p.clickAt !== null, done: p.doneAt !== null || !p.until,
             ipc: loop('ipc'), status: loop('status'), longTasks: p.longTasks, errors: p.errors };
"#;

/// How long an in-page probe keeps measuring after the action's result appeared: the
/// result's first frames.
const SETTLE_MS: u64 = 300;

/// Whether actions are measured from inside the page (`CAREKEY_UI_RESPONSIVENESS=1`, unless
/// `CAREKEY_UI_RESPONSIVENESS_DRIVEN=1`): see [`Window::act`].
pub(crate) fn in_page_measurement() -> bool {
    std::env::var("CAREKEY_UI_RESPONSIVENESS").as_deref() == Ok("1")
        && std::env::var("CAREKEY_UI_RESPONSIVENESS_DRIVEN").as_deref() != Ok("1")
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
            measured: Vec::new(),
            watched: Vec::new(),
        }
    }

    /// Starts measuring responsiveness (see [`Responsiveness`]) before an action.
    pub(crate) async fn probe(&self) {
        self.c
            .execute(
                PROBE_START,
                vec![Value::Null, Value::Null, Value::from(SETTLE_MS)],
            )
            .await
            .unwrap();
    }

    /// Samples the main threads of the app `pid` and of its web process while actions are
    /// measured from inside the page (see [`crate::threads`]).
    pub(crate) fn watch(&mut self, pid: Option<u32>) {
        self.watched = pid.map(threads::app_and_web).unwrap_or_default();
        println!("watching main threads: {:?}", self.watched);
    }

    /// Clicks `target`, waits for `until` (an XPath) and keeps how responsive the window
    /// stayed meanwhile as `action`.
    ///
    /// With `CAREKEY_UI_RESPONSIVENESS=1` (see [`in_page_measurement`]) the page clicks and
    /// watches for `until` itself, and the probe keeps measuring [`SETTLE_MS`] longer: the
    /// driver sends nothing while the action runs, so its commands (element lookups every
    /// 100 ms, clicks, scripts), which WebKit runs on the web process's main thread, do not
    /// count against the app. Otherwise the click and the wait go through WebDriver as a
    /// person's would, and the probe reads what it saw with them.
    pub(crate) async fn act(
        &mut self,
        action: &str,
        target: Element,
        until: &str,
    ) -> Responsiveness {
        if !in_page_measurement() {
            self.probe().await;
            target.click().await.unwrap();
            self.wait(until).await;
            return self.probed(action).await;
        }
        let sampler = (!self.watched.is_empty()).then(|| Sampler::start(self.watched.clone()));
        self.c
            .execute(
                PROBE_START,
                vec![
                    Value::from(until),
                    serde_json::to_value(&target).unwrap(),
                    Value::from(SETTLE_MS),
                ],
            )
            .await
            .unwrap();
        let ended = tokio::time::timeout(PATIENCE, self.c.execute_async(PROBE_ENDED, vec![])).await;
        if !matches!(ended, Ok(Ok(Value::Bool(true)))) {
            let seen = self.evidence().await;
            panic!("{action}: {until} did not appear within {PATIENCE:?} ({ended:?}); {seen}");
        }
        let mut r = self.probed(action).await;
        if let Some(sampler) = sampler {
            let trace = sampler.finish();
            let mut stretches: Vec<(f64, f64)> =
                r.gaps.iter().map(|(at, len, _)| (*at, *len)).collect();
            if let Some((at, _)) = &r.gap_at {
                if !stretches.iter().any(|(a, _)| (a - at).abs() < 0.5) {
                    stretches.push((*at, r.max_gap_ms));
                }
            }
            stretches.sort_by(|a, b| a.0.total_cmp(&b.0));
            r.threads = stretches
                .iter()
                .map(|(at, len)| {
                    let from = r.t0_epoch_ms + at;
                    let to = from + len;
                    let of = |name: &str| {
                        trace
                            .spent(name, from, to)
                            .map_or_else(|| "?".to_owned(), |s| s.to_string())
                    };
                    format!(
                        "{len:.0} ms from {at:.0}: web main thread {}; app main thread {}",
                        of("web"),
                        of("app")
                    )
                })
                .collect();
            if let Some(last) = self.measured.last_mut() {
                last.threads = r.threads.clone();
            }
        }
        r
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
        assert!(
            v["done"].as_bool().unwrap_or(true),
            "{action}: the probe ended before the result appeared"
        );
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
            gaps: v["gaps"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| {
                            (
                                f(&g[0]),
                                f(&g[1]),
                                g[2].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            max_frame_ms: f(&v["maxFrame"]),
            frames: n(&v["frames"]),
            frame_at: v["frameAt"].is_object().then(|| {
                (
                    f(&v["frameAt"]["start"]),
                    v["frameAt"]["route"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            }),
            in_page: v["inPage"].as_bool().unwrap_or(false),
            threads: Vec::new(),
            t0_epoch_ms: f(&v["t0epoch"]),
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

    /// The measurements so far as a Markdown table (what docs/performance.md shows), and
    /// every page gap over 50 ms.
    pub(crate) fn responsiveness_table(&self) -> String {
        let at = |a: &Option<(f64, String)>| {
            a.as_ref()
                .map_or_else(String::new, |(at, route)| format!("{at:.0}, {route}"))
        };
        let mut t = String::from(
            "| action | driven | span ms | max heartbeat gap ms (ticks) | gap from ms, on | longest frame ms (frames) | frame from ms, on | max IPC round trip ms (calls) | max app_status ms (calls) | long tasks |\n\
             |---|---|---:|---:|---|---:|---|---:|---:|---|\n",
        );
        for r in &self.measured {
            let long = match r.long_tasks {
                Some((n, max)) => format!("{n} (max {max:.0} ms)"),
                None => "not reported".to_owned(),
            };
            t.push_str(&format!(
                "| {} | {} | {:.0} | {:.0} ({}) | {} | {:.0} ({}) | {} | {:.0} ({}) | {:.0} ({}) | {} |\n",
                r.action,
                if r.in_page { "in page" } else { "WebDriver" },
                r.span_ms,
                r.max_gap_ms,
                r.ticks,
                at(&r.gap_at),
                r.max_frame_ms,
                r.frames,
                at(&r.frame_at),
                r.max_ipc_ms,
                r.ipc_calls,
                r.max_status_ms,
                r.status_calls,
                long
            ));
        }
        for r in &self.measured {
            for line in &r.threads {
                t.push_str(&format!("\nthreads, {}: {line}", r.action));
            }
        }
        for r in &self.measured {
            if !r.gaps.is_empty() {
                let gaps: Vec<String> = r
                    .gaps
                    .iter()
                    .map(|(at, len, route)| format!("{len:.0} ms from {at:.0} on {route}"))
                    .collect();
                t.push_str(&format!(
                    "\ngaps over 50 ms, {}: {}",
                    r.action,
                    gaps.join("; ")
                ));
            }
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
        self.wait(&heading_xpath(title)).await
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

    /// Waits for the element at `xpath` and clicks it.
    pub(crate) async fn click(&self, xpath: &str) {
        self.wait(xpath).await.click().await.unwrap();
    }

    /// Follows the main navigation link `label` from the keyboard (so the pointer leaves no
    /// hover highlight on the navigation in screenshots) and waits for the screen's heading.
    pub(crate) async fn nav(&self, label: &str, title: &str) {
        // A link's text may carry the unseen badge ("Activity 2 (2 new accesses)").
        self.wait(&format!(
            "//nav//a[normalize-space()={l} or .//span[contains(@class,'nav-label')][normalize-space()={l}]]",
            l = lit(label)
        ))
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
