//! What the window needs around it: an X display (Xvfb when there is none), a D-Bus session
//! bus (a private `dbus-daemon` when there is none), `tauri-driver` on free ports, and the app
//! binary behind a small wrapper script that keeps its stdout (tauri-driver sends the native
//! driver's stdout, and so the app's, to /dev/null) and records its pid.
//!
//! Everything started here is stopped in [`Rig`]'s `Drop`, also when the test panics:
//! tauri-driver with SIGTERM (it then stops WebKitWebDriver; SIGKILL would orphan it and hang
//! the run), then the app, the bus and the display.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Whether this run is CI's (`CI=true`): then nothing is skipped.
pub(crate) fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// An executable named `name` on `PATH`, or in cargo's bin directory (where
/// `cargo install tauri-driver` puts it, which is not always on `PATH`).
fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(cargo_home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The tools the window test needs, found; or why not.
#[derive(Debug)]
pub(crate) struct Tools {
    tauri_driver: PathBuf,
    webkit_driver: PathBuf,
    /// `Xvfb`, when there is no `DISPLAY`.
    xvfb: Option<PathBuf>,
    /// `dbus-daemon`, when there is one.
    dbus_daemon: Option<PathBuf>,
    /// Whether the environment has a session bus to use (else the rig starts one).
    session_bus: bool,
    /// The app under test: this package's binary, or `CAREKEY_APP_BIN` (e.g. a release build,
    /// for measuring by hand).
    pub(crate) app: PathBuf,
    /// The `carekey` CLI the provider uses.
    pub(crate) carekey: PathBuf,
}

impl Tools {
    /// Finds everything, or says what is missing and how to get it.
    pub(crate) fn find() -> Result<Tools, String> {
        let tauri_driver = find_tool("tauri-driver")
            .ok_or("tauri-driver not installed (cargo install tauri-driver --locked)")?;
        let webkit_driver = find_tool("WebKitWebDriver").ok_or(
            "WebKitWebDriver not installed (apt-get install webkit2gtk-driver; scripts/test does it)",
        )?;
        let xvfb = if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
            None
        } else {
            Some(find_tool("Xvfb").ok_or(
                "no DISPLAY and no Xvfb to make one (apt-get install xvfb; scripts/test does it)",
            )?)
        };
        let session_bus =
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|d| !d.is_empty());
        let dbus_daemon = find_tool("dbus-daemon");
        if !session_bus && dbus_daemon.is_none() {
            return Err(
                "no session bus and no dbus-daemon to start one (apt-get install dbus)".into(),
            );
        }
        // The app is a binary of this package: cargo builds it for the integration tests.
        let app = std::env::var_os("CAREKEY_APP_BIN")
            .filter(|p| !p.is_empty())
            .map_or_else(
                || PathBuf::from(env!("CARGO_BIN_EXE_carekey-app")),
                PathBuf::from,
            );
        if !app.is_file() {
            return Err(format!(
                "{} is missing (cargo build -p carekey-app)",
                app.display()
            ));
        }
        // `carekey` belongs to another package: it sits next to this test's directory when the
        // workspace binaries were built (`cargo build --bins`, as scripts/test does).
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let carekey = exe
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("carekey"))
            .filter(|p| p.is_file())
            .ok_or("the carekey CLI is not built next to the tests (cargo build --bins)")?;
        Ok(Tools {
            tauri_driver,
            webkit_driver,
            xvfb,
            dbus_daemon,
            session_bus,
            app,
            carekey,
        })
    }

    /// The tools of the real Secret Service (gnome-keyring, and `secret-tool` and `dbus-send`
    /// to look into it), or what is missing.
    pub(crate) fn keyring() -> Result<KeyringTools, String> {
        let apt = "(apt-get install gnome-keyring libsecret-tools dbus; scripts/test does it)";
        let find = |name: &str| find_tool(name).ok_or(format!("{name} not installed {apt}"));
        Ok(KeyringTools {
            daemon: find("gnome-keyring-daemon")?,
            secret_tool: find("secret-tool")?,
            dbus_send: find("dbus-send")?,
        })
    }

    /// `xdotool`, to drive native dialogs, or why not.
    pub(crate) fn xdotool() -> Result<PathBuf, String> {
        find_tool("xdotool").ok_or_else(|| {
            "xdotool not installed (apt-get install xdotool; scripts/test does it)".into()
        })
    }
}

/// What the keyring flow needs besides the window's tools.
#[derive(Debug, Clone)]
pub(crate) struct KeyringTools {
    daemon: PathBuf,
    secret_tool: PathBuf,
    dbus_send: PathBuf,
}

/// Where the app keeps its device secrets in a run (`CAREKEY_SECRET_STORE`).
#[derive(Debug, Clone)]
pub(crate) enum Secrets {
    /// A file beside the vault.
    File,
    /// The real Secret Service: a gnome-keyring the rig starts, unlocked, on a session bus of
    /// its own (never the caller's, so the run sees exactly the items it made).
    Keyring(KeyringTools),
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port on 127.0.0.1")
}

/// The first line a child writes on stdout, waiting at most `limit`.
fn first_line(stdout: ChildStdout, limit: Duration, what: &str) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep draining so the child never blocks on a full pipe.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{what} printed nothing within {limit:?}"))
        .trim()
        .to_owned()
}

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1) (this crate forbids `unsafe`).
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purposes.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Pids whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

/// Waits up to `limit` for `pid` to be gone.
fn gone_within(pid: u32, limit: Duration) -> bool {
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Stops a child we spawned: SIGTERM, a grace period, SIGKILL only as the last resort; reaps it.
fn stop(child: &mut Child, grace: Duration) {
    if child.try_wait().ok().flatten().is_some() {
        return;
    }
    signal(child.id(), "TERM");
    let start = Instant::now();
    while start.elapsed() < grace {
        if child.try_wait().ok().flatten().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The running display, bus and tauri-driver, and the files of one run.
#[derive(Debug)]
pub(crate) struct Rig {
    /// Temp dir of the run: `home/` (CAREKEY_HOME), the app's stdout/stderr, the provider.
    pub(crate) dir: TempDir,
    /// tauri-driver's WebDriver endpoint.
    pub(crate) webdriver: String,
    /// What the session's `tauri:options.application` names: the wrapper script.
    pub(crate) app_script: PathBuf,
    /// The X display the app shows on.
    pub(crate) display: String,
    /// The session bus the app talks to.
    pub(crate) bus: String,
    /// `secret-tool`, when the app uses the rig's gnome-keyring.
    secret_tool: Option<PathBuf>,
    driver: Option<Child>,
    keyring: Option<Child>,
    dbus: Option<Child>,
    xvfb: Option<Child>,
}

impl Rig {
    /// Starts the display and bus when missing, writes the wrapper script, starts tauri-driver;
    /// the app keeps its device secrets in a file.
    pub(crate) fn start(tools: &Tools) -> Rig {
        Rig::start_with(tools, &Secrets::File)
    }

    /// [`Rig::start`], with the app's secrets where `secrets` says.
    pub(crate) fn start_with(tools: &Tools, secrets: &Secrets) -> Rig {
        let dir = tempfile::Builder::new()
            .prefix("carekey-window-")
            .tempdir()
            .unwrap();
        let mut rig = Rig {
            webdriver: String::new(),
            app_script: dir.path().join("carekey-app.sh"),
            dir,
            display: String::new(),
            bus: String::new(),
            secret_tool: None,
            driver: None,
            keyring: None,
            dbus: None,
            xvfb: None,
        };
        let mut display = std::env::var("DISPLAY").unwrap_or_default();
        if let Some(xvfb) = &tools.xvfb {
            // `-displayfd 1`: Xvfb picks a free display number and prints it once it is ready.
            let mut child = Command::new(xvfb)
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let out = child.stdout.take().unwrap();
            rig.xvfb = Some(child);
            let n = first_line(out, Duration::from_secs(20), "Xvfb");
            assert!(
                n.parse::<u32>().is_ok(),
                "Xvfb printed {n:?}, not a display number"
            );
            display = format!(":{n}");
        }
        let mut bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").unwrap_or_default();
        let own_bus = !tools.session_bus || matches!(secrets, Secrets::Keyring(_));
        if own_bus {
            let daemon = tools
                .dbus_daemon
                .as_ref()
                .expect("no dbus-daemon to start a session bus with (apt-get install dbus)");
            let mut child = Command::new(daemon)
                .args(["--session", "--nofork", "--print-address=1"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let out = child.stdout.take().unwrap();
            rig.dbus = Some(child);
            bus = first_line(out, Duration::from_secs(20), "dbus-daemon");
            assert!(
                bus.contains('='),
                "dbus-daemon printed {bus:?}, not an address"
            );
        }
        rig.display = display.clone();
        rig.bus = bus.clone();
        let store = match secrets {
            Secrets::File => "file",
            Secrets::Keyring(k) => {
                rig.start_keyring(k);
                "keyring"
            }
        };

        let d = rig.dir.path();
        let home = d.join("home");
        let xdg = d.join("xdg");
        for sub in ["data", "config", "cache"] {
            std::fs::create_dir_all(xdg.join(sub)).unwrap();
        }
        let q = |p: &Path| {
            let s = p.to_str().expect("temp paths are UTF-8");
            assert!(!s.contains('\''), "{s}");
            format!("'{s}'")
        };
        // WebKitWebDriver runs the "browser" it is given with its own arguments; the script
        // sets the app's environment, records its pid and keeps its output, then becomes it.
        let script = format!(
            "#!/bin/sh\n\
             export CAREKEY_HOME={home} CAREKEY_KDF=test CAREKEY_SECRET_STORE={store}\n\
             export CAREKEY_CHECK_EVERY_SECS=2\n\
             unset CAREKEY_NOW CAREKEY_NO_EMBEDDED_NODE CAREKEY_PASSPHRASE\n\
             export XDG_DATA_HOME={data} XDG_CONFIG_HOME={config} XDG_CACHE_HOME={cache}\n\
             echo $$ > {pid}\n\
             exec {app} \"$@\" > {out} 2> {err}\n",
            home = q(&home),
            data = q(&xdg.join("data")),
            config = q(&xdg.join("config")),
            cache = q(&xdg.join("cache")),
            pid = q(&d.join("app.pid")),
            app = q(&tools.app),
            out = q(&d.join("app.stdout")),
            err = q(&d.join("app.stderr")),
        );
        std::fs::write(&rig.app_script, script).unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(&rig.app_script)
            .status()
            .unwrap();

        let (port, native_port) = (free_port(), free_port());
        let log = std::fs::File::create(d.join("tauri-driver.log")).unwrap();
        let driver = Command::new(&tools.tauri_driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .arg("--native-driver")
            .arg(&tools.webkit_driver)
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        rig.driver = Some(driver);
        rig.webdriver = format!("http://127.0.0.1:{port}");
        // tauri-driver listens at once but starts WebKitWebDriver beside it; a session request
        // sent before WebKitWebDriver listens on the native port is refused (seen in CI under
        // load), so wait for both.
        for (what, p) in [("tauri-driver", port), ("WebKitWebDriver", native_port)] {
            rig.wait_for_listener(what, p);
        }
        rig
    }

    fn wait_for_listener(&mut self, what: &str, port: u16) {
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = self
                .driver
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "tauri-driver exited ({status}):\n{}",
                    self.log("tauri-driver.log")
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{what} did not listen on {port} within 20 s:\n{}",
                self.log("tauri-driver.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts gnome-keyring (secrets only) on the rig's own bus, with its keyring files in the
    /// run's temp dir, unlocked with a password on stdin as scripts/with-keyring.sh does, and
    /// waits until it owns `org.freedesktop.secrets` (so nothing D-Bus-activates another one).
    fn start_keyring(&mut self, k: &KeyringTools) {
        use std::io::Write as _;
        use std::os::unix::fs::PermissionsExt as _;
        let d = self.dir.path();
        let (data, run) = (d.join("keyring-data"), d.join("keyring-run"));
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
        let log = std::fs::File::create(d.join("gnome-keyring.log")).unwrap();
        let mut child = Command::new(&k.daemon)
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &run)
            .env_remove("GNOME_KEYRING_CONTROL")
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"carekey-window-test").unwrap();
        drop(stdin);
        self.keyring = Some(child);
        let start = Instant::now();
        loop {
            let out = Command::new(&k.dbus_send)
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
                .output()
                .unwrap();
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                break;
            }
            if let Some(status) = self
                .keyring
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "gnome-keyring-daemon exited ({status}):\n{}",
                    self.log("gnome-keyring.log")
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "gnome-keyring did not take org.freedesktop.secrets within 20 s:\n{}",
                self.log("gnome-keyring.log")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self.secret_tool = Some(k.secret_tool.clone());
    }

    /// The names (`username` attribute) of the Carekey items in the rig's Secret Service,
    /// as `secret-tool` sees them, sorted.
    pub(crate) fn secret_items(&self) -> Vec<String> {
        let tool = self
            .secret_tool
            .as_ref()
            .expect("this rig runs no Secret Service (Rig::start_with(.., Secrets::Keyring))");
        let out = Command::new(tool)
            .args(["search", "--all", "service", "carekey"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .output()
            .unwrap();
        // secret-tool prints the attributes on stderr and the rest on stdout; it exits 1 when
        // nothing matched.
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut names: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("attribute.username = "))
            .map(str::to_owned)
            .collect();
        names.sort();
        assert!(
            out.status.success() || names.is_empty(),
            "secret-tool search failed ({}): {text}",
            out.status
        );
        names
    }

    /// A file of the run's temp dir, as text (empty when missing).
    pub(crate) fn log(&self, name: &str) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join(name)) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// The app's pid, once the wrapper has run.
    pub(crate) fn app_pid(&self) -> Option<u32> {
        self.log("app.pid").trim().parse().ok()
    }

    /// Waits for the app `pid` (if any) to have exited, as it does when its session closes.
    pub(crate) fn wait_app_gone(&self, pid: Option<u32>, limit: Duration) {
        if let Some(pid) = pid {
            assert!(
                gone_within(pid, limit),
                "the app ({pid}) still runs {limit:?} after its session closed"
            );
        }
    }

    /// `<url> <log-key>` from the app's first stdout line `embedded ledger node: <url> <log-key>`.
    pub(crate) fn embedded_node(&self, limit: Duration) -> (String, String) {
        let start = Instant::now();
        loop {
            let out = self.log("app.stdout");
            if let Some(rest) = out
                .lines()
                .find_map(|l| l.strip_prefix("embedded ledger node: "))
            {
                let mut parts = rest.split_whitespace();
                if let (Some(url), Some(key)) = (parts.next(), parts.next()) {
                    return (url.to_owned(), key.to_owned());
                }
            }
            assert!(
                start.elapsed() < limit,
                "the app printed no embedded ledger node line within {limit:?}; stdout:\n{out}\nstderr:\n{}",
                self.log("app.stderr")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- tauri-driver log:\n{}\n--- app stdout:\n{}\n--- app stderr:\n{}\n--- gnome-keyring log:\n{}",
                self.log("tauri-driver.log"),
                self.log("app.stdout"),
                self.log("app.stderr"),
                self.log("gnome-keyring.log")
            );
        }
        if let Some(mut driver) = self.driver.take() {
            let natives = children_of(driver.id());
            // SIGTERM: tauri-driver then stops WebKitWebDriver (SIGKILL would orphan it).
            stop(&mut driver, Duration::from_secs(10));
            for pid in natives {
                if !gone_within(pid, Duration::from_secs(5)) {
                    signal(pid, "TERM");
                }
            }
        }
        if let Some(pid) = self.app_pid() {
            if alive(pid) {
                signal(pid, "TERM");
                if !gone_within(pid, Duration::from_secs(5)) {
                    signal(pid, "KILL");
                }
            }
        }
        if let Some(mut keyring) = self.keyring.take() {
            stop(&mut keyring, Duration::from_secs(5));
        }
        if let Some(mut dbus) = self.dbus.take() {
            // Services the bus started (the accessibility bus launcher) go with it.
            let services = children_of(dbus.id());
            stop(&mut dbus, Duration::from_secs(5));
            for pid in services {
                if !gone_within(pid, Duration::from_secs(2)) {
                    signal(pid, "TERM");
                }
            }
        }
        if let Some(mut xvfb) = self.xvfb.take() {
            stop(&mut xvfb, Duration::from_secs(5));
        }
    }
}
