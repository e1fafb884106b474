//! The two variables Go's expvar always publishes: `cmdline` (the process arguments) and,
//! for [`MemStatsFormat::Process`](crate::MemStatsFormat::Process), `memstats` as the
//! process's own figures from `/proc/self` (the Go-shaped `memstats` is in `memstats.rs`).

use std::ffi::OsString;
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::ser::Formatter;

use crate::format::{self, GoFormatter, Style};

/// Where `cmdline` comes from.
#[derive(Debug, Clone)]
pub(crate) enum Cmdline {
    /// This process's arguments, read at each render.
    Process,
    /// Arguments given to the builder (a redacted copy, or a test's).
    Args(Arc<[OsString]>),
    /// Left out of the output.
    Off,
}

/// Writes `["prog","arg"]` as `json.Marshal(os.Args)` does: invalid UTF-8 becomes U+FFFD,
/// one per bad byte.
pub(crate) fn write_cmdline<W: ?Sized + Write>(w: &mut W, cmdline: &Cmdline) -> io::Result<()> {
    let process: Vec<OsString>;
    let args: &[OsString] = match cmdline {
        Cmdline::Process => {
            process = std::env::args_os().collect();
            &process
        }
        Cmdline::Args(args) => args,
        Cmdline::Off => &[],
    };
    let mut f = GoFormatter::new(Style::Marshal);
    f.begin_array(w)?;
    for (i, arg) in args.iter().enumerate() {
        f.begin_array_value(w, i == 0)?;
        format::write_str(w, &os_lossy(arg), Style::Marshal)?;
        f.end_array_value(w)?;
    }
    f.end_array(w)
}

#[cfg(unix)]
fn os_lossy(arg: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    use std::os::unix::ffi::OsStrExt;
    format::go_lossy(arg.as_bytes())
}

#[cfg(not(unix))]
fn os_lossy(arg: &std::ffi::OsStr) -> std::borrow::Cow<'_, str> {
    arg.to_string_lossy()
}

/// `USER_HZ`, the tick of the CPU times in `/proc`: 100 on every architecture Linux runs on
/// but alpha (see `man 5 proc`, "clock ticks"). Reading it needs `sysconf`, which needs
/// `unsafe` FFI this crate forbids.
const USER_HZ: f64 = 100.0;

/// The process's own figures, each read when the document is rendered.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct MemStats {
    pub(crate) cpu_system_seconds: Option<f64>,
    pub(crate) cpu_user_seconds: Option<f64>,
    pub(crate) max_open_files: Option<u64>,
    pub(crate) open_files: Option<u64>,
    pub(crate) resident_bytes: Option<u64>,
    pub(crate) resident_peak_bytes: Option<u64>,
    pub(crate) start_time_unix_seconds: Option<f64>,
    pub(crate) threads: Option<u64>,
    pub(crate) virtual_bytes: Option<u64>,
}

impl MemStats {
    /// Reads `/proc/self`; figures that cannot be read (another OS, a sandbox) are left out.
    pub(crate) fn read() -> Self {
        let mut stats = MemStats::default();
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let kb = |field: &str| status_field(&status, field).map(|v| v.saturating_mul(1024));
            stats.resident_bytes = kb("VmRSS:");
            stats.resident_peak_bytes = kb("VmHWM:");
            stats.virtual_bytes = kb("VmSize:");
            stats.threads = status_field(&status, "Threads:");
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            let boot = std::fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| boot_time(&s));
            if let Some(fields) = stat_fields(&stat) {
                stats.cpu_user_seconds = fields.utime.map(|t| t as f64 / USER_HZ);
                stats.cpu_system_seconds = fields.stime.map(|t| t as f64 / USER_HZ);
                stats.start_time_unix_seconds = fields
                    .starttime
                    .zip(boot)
                    .map(|(t, b)| b as f64 + t as f64 / USER_HZ);
            }
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            stats.open_files = Some(dir.count() as u64);
        }
        if let Ok(limits) = std::fs::read_to_string("/proc/self/limits") {
            stats.max_open_files = max_open_files(&limits);
        }
        stats
    }

    /// Writes `{"cpu_system_seconds":0.01,...}`, keys in byte order, compact as
    /// `json.Marshal` writes Go's `runtime.MemStats`.
    pub(crate) fn write_json<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        enum N {
            F(f64),
            U(u64),
        }
        let fields = [
            ("cpu_system_seconds", self.cpu_system_seconds.map(N::F)),
            ("cpu_user_seconds", self.cpu_user_seconds.map(N::F)),
            ("max_open_files", self.max_open_files.map(N::U)),
            ("open_files", self.open_files.map(N::U)),
            ("resident_bytes", self.resident_bytes.map(N::U)),
            ("resident_peak_bytes", self.resident_peak_bytes.map(N::U)),
            (
                "start_time_unix_seconds",
                self.start_time_unix_seconds.map(N::F),
            ),
            ("threads", self.threads.map(N::U)),
            ("virtual_bytes", self.virtual_bytes.map(N::U)),
        ];
        let mut f = GoFormatter::new(Style::Marshal);
        f.begin_object(w)?;
        let mut first = true;
        for (key, value) in fields {
            let Some(value) = value else { continue };
            f.begin_object_key(w, first)?;
            first = false;
            format::write_str(w, key, Style::Marshal)?;
            f.begin_object_value(w)?;
            match value {
                N::F(v) => format::write_f64(w, v, Style::Marshal)?,
                N::U(v) => format::write_u64(w, v)?,
            }
        }
        f.end_object(w)
    }
}

/// `VmRSS:    1234 kB` -> 1234.
pub(crate) fn status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

struct StatFields {
    utime: Option<u64>,
    stime: Option<u64>,
    starttime: Option<u64>,
}

/// Fields 14, 15 and 22 of `/proc/self/stat`. Field 2, the command name, is in
/// parentheses and may hold spaces and parentheses itself: count from the last `)`.
fn stat_fields(stat: &str) -> Option<StatFields> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse().ok());
    Some(StatFields {
        utime: field(14),
        stime: field(15),
        starttime: field(22),
    })
}

/// `btime 1700000000` from `/proc/stat`: boot time, seconds since the epoch.
fn boot_time(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit of `Max open files` in `/proc/self/limits` (`unlimited` is left out).
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_survives_odd_command_names() {
        let stat = "4242 (a) b) (c) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 3 0 12345 1000 10";
        let f = stat_fields(stat).unwrap();
        assert_eq!(
            (f.utime, f.stime, f.starttime),
            (Some(250), Some(75), Some(12345))
        );
        assert!(stat_fields("no parenthesis").is_none());
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n"),
            Some(1_700_000_000)
        );
        assert_eq!(
            status_field("Name:\tx\nVmRSS:\t  1234 kB\n", "VmRSS:"),
            Some(1234)
        );
        let limits = "Limit  Soft Limit  Hard Limit  Units\nMax open files  1024  4096  files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(
            max_open_files("Max open files unlimited unlimited files"),
            None
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let stats = MemStats::read();
        assert!(stats.resident_bytes.unwrap() > 0);
        assert!(stats.virtual_bytes.unwrap() >= stats.resident_bytes.unwrap());
        assert!(stats.threads.unwrap() >= 1);
        assert!(stats.open_files.unwrap() >= 1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = stats.start_time_unix_seconds.unwrap();
        assert!(
            start <= now + 1.0 && start > now - 86_400.0 * 365.0,
            "{start} vs {now}"
        );
        let mut out = Vec::new();
        stats.write_json(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 9, "{v}");
        assert_eq!(v["threads"], stats.threads.unwrap());
    }

    #[test]
    fn cmdline_is_marshalled_per_argument() {
        let args: Vec<OsString> = vec!["prog".into(), "a b".into(), "<&>".into(), "".into()];
        let mut out = Vec::new();
        write_cmdline(&mut out, &Cmdline::Args(args.into())).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"["prog","a b","\u003c\u0026\u003e",""]"#
        );
        let mut out = Vec::new();
        write_cmdline(&mut out, &Cmdline::Process).unwrap();
        let v: Vec<String> = serde_json::from_slice(&out).unwrap();
        assert_eq!(v, std::env::args().collect::<Vec<_>>());
    }

    #[test]
    #[cfg(unix)]
    fn cmdline_replaces_invalid_utf8_per_byte() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![OsString::from_vec(b"a\xE2\x82b".to_vec())];
        let mut out = Vec::new();
        write_cmdline(&mut out, &Cmdline::Args(args.into())).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[\"a\u{FFFD}\u{FFFD}b\"]");
    }
}
