//! What the web view's and the app's main threads were doing while an action ran, from
//! `/proc` (Linux): sampled every 2 ms, each sample the thread's state and its scheduler
//! counters (`schedstat`: time on a CPU, time runnable but waiting for one). A gap in the
//! page's heartbeat can then be told apart: the page's own work (the web process's main
//! thread on a CPU), CPU contention (runnable, waiting for a core), or the thread asleep
//! (waiting for something else, e.g. a synchronous message to the app's process).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (the page's `performance.timeOrigin + now()` scale).
pub(crate) fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// One reading of one thread.
#[derive(Debug, Clone)]
struct Sample {
    at_ms: f64,
    /// `R` running or runnable, `S` asleep, `D` uninterruptible, …
    state: char,
    /// The system call it is in (`/proc/…/syscall`'s first field: 7 poll, 202 futex, …),
    /// when not running.
    syscall: Option<u32>,
    /// Nanoseconds on a CPU so far.
    run_ns: u64,
    /// Nanoseconds runnable but waiting for a CPU so far.
    wait_ns: u64,
    /// Nanoseconds on a CPU so far of each of the process's other threads, by thread id.
    others: Vec<(u32, u64)>,
}

/// Time on a CPU so far of every thread of `pid` but its main one.
fn others(pid: u32) -> Vec<(u32, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|tid| *tid != pid)
        .filter_map(|tid| {
            let s = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/schedstat")).ok()?;
            Some((tid, s.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

fn comm(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| tid.to_string())
}

fn read(pid: u32) -> Option<(char, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/stat")).ok()?;
    // The state follows the command name's closing parenthesis.
    let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
    let sched = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/schedstat")).ok()?;
    let mut it = sched.split_whitespace().map(|n| n.parse::<u64>().ok());
    Some((state, it.next()??, it.next()??))
}

/// How a thread spent a stretch of time, in ms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Spent {
    /// On a CPU.
    pub(crate) cpu: f64,
    /// Runnable, waiting for a CPU.
    pub(crate) queued: f64,
    /// The rest: asleep or blocked.
    pub(crate) asleep: f64,
    /// How many samples inside the stretch saw each state, e.g. `R:12 S:3`.
    pub(crate) states: String,
    /// The process's other threads with ≥ 2 ms on a CPU meanwhile, ms.
    pub(crate) others: String,
}

impl std::fmt::Display for Spent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cpu {:.0} / queued {:.0} / asleep {:.0} ms (samples {}; other threads: {})",
            self.cpu, self.queued, self.asleep, self.states, self.others
        )
    }
}

/// The samples of the watched threads over one action.
#[derive(Debug)]
pub(crate) struct Trace {
    /// `(name, samples)` per thread.
    threads: Vec<(String, Vec<Sample>)>,
    pids: Vec<(String, u32)>,
}

impl Trace {
    /// How thread `name` spent `[from_ms, to_ms]` (epoch ms), from the samples around it.
    pub(crate) fn spent(&self, name: &str, from_ms: f64, to_ms: f64) -> Option<Spent> {
        let samples = &self.threads.iter().find(|(n, _)| n == name)?.1;
        let before = samples.iter().rev().find(|s| s.at_ms <= from_ms)?;
        let after = samples.iter().find(|s| s.at_ms >= to_ms)?;
        let wall = after.at_ms - before.at_ms;
        let cpu = after.run_ns.saturating_sub(before.run_ns) as f64 / 1e6;
        let queued = after.wait_ns.saturating_sub(before.wait_ns) as f64 / 1e6;
        let mut counts: Vec<(String, usize)> = Vec::new();
        for s in samples
            .iter()
            .filter(|s| s.at_ms >= from_ms && s.at_ms <= to_ms)
        {
            let key = match s.syscall {
                Some(n) => format!("{}/{n}", s.state),
                None => s.state.to_string(),
            };
            match counts.iter_mut().find(|(c, _)| *c == key) {
                Some((_, n)) => *n += 1,
                None => counts.push((key, 1)),
            }
        }
        let states = counts
            .iter()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let pid = self.pids.iter().find(|(n, _)| n == name)?.1;
        let mut busy: Vec<(u32, u64)> = after
            .others
            .iter()
            .map(|(tid, run)| {
                let was = before
                    .others
                    .iter()
                    .find(|(t, _)| t == tid)
                    .map_or(0, |(_, r)| *r);
                (*tid, run.saturating_sub(was))
            })
            .filter(|(_, d)| *d >= 2_000_000)
            .collect();
        busy.sort_by_key(|b| std::cmp::Reverse(b.1));
        let others = busy
            .iter()
            .take(4)
            .map(|(tid, d)| format!("{} {:.0}", comm(pid, *tid), *d as f64 / 1e6))
            .collect::<Vec<_>>()
            .join(", ");
        Some(Spent {
            cpu,
            queued,
            asleep: (wall - cpu - queued).max(0.0),
            states,
            others,
        })
    }
}

/// Samples threads until stopped.
#[derive(Debug)]
pub(crate) struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Trace>,
}

impl Sampler {
    /// Starts sampling the main thread of each `(name, pid)`.
    pub(crate) fn start(pids: Vec<(String, u32)>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut threads: Vec<(String, Vec<Sample>)> =
                pids.iter().map(|(n, _)| (n.clone(), Vec::new())).collect();
            loop {
                let last = flag.load(Ordering::Relaxed);
                for ((_, pid), (_, samples)) in pids.iter().zip(threads.iter_mut()) {
                    if let Some((state, run_ns, wait_ns)) = read(*pid) {
                        let syscall = (state != 'R')
                            .then(|| {
                                std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/syscall"))
                                    .ok()
                                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                            })
                            .flatten();
                        samples.push(Sample {
                            at_ms: epoch_ms(),
                            state,
                            syscall,
                            others: others(*pid),
                            run_ns,
                            wait_ns,
                        });
                    }
                }
                if last {
                    return Trace { threads, pids };
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Sampler { stop, handle }
    }

    /// Stops (after one last sample) and returns what was seen.
    pub(crate) fn finish(self) -> Trace {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or(Trace {
            threads: Vec::new(),
            pids: Vec::new(),
        })
    }
}

/// The app's process `app` and its WebKit web process (a child named `WebKitWebProces…`).
pub(crate) fn app_and_web(app: u32) -> Vec<(String, u32)> {
    let mut out = vec![("app".to_owned(), app)];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(app) && head.contains("WebKitWebProces") {
            out.push(("web".to_owned(), pid));
        }
    }
    out
}
