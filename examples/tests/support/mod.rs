//! What the demo's tests share: the demo binary on a free loopback port, and the rule for a
//! checker written by others that is not installed (fail under `CI=true`, else one loud
//! SKIPPED line).

// Each test file compiles this module, and not every one uses every helper.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a test waits for the demo to answer or to close a connection.
pub const BOUND: Duration = Duration::from_secs(30);

/// The demo on a free loopback port; killed when dropped.
pub struct Demo {
    child: Child,
    pub addr: SocketAddr,
}

impl Demo {
    /// Starts the demo with these environment variables set (`Some`) or removed (`None`),
    /// and waits until it says where it listens.
    pub fn start(env: &[(&str, Option<&str>)]) -> Self {
        Self::start_with(&[], env)
    }

    /// Starts the demo with these arguments (besides `--listen`) and environment.
    pub fn start_with(args: &[&str], env: &[(&str, Option<&str>)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
        command.args(["--listen", "127.0.0.1:0"]).args(args);
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the demo starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // Held from here on, so that a panic below still kills and waits for the child.
        let mut demo = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        // "prism demo listening on http://ADDR/ (Ctrl-C to stop)"
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("the demo's stdout");
            if let Some(rest) = line.strip_prefix("prism demo listening on http://") {
                let addr = rest.split('/').next().unwrap_or_default();
                demo.addr = addr.parse().expect("the address the demo prints");
                return demo;
            }
        }
        panic!("the demo ended without saying where it listens");
    }

    /// The body of `GET path`, which must answer 200.
    pub fn get(&self, path: &str) -> String {
        let (status, body) = self.request(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// The status code and body of `GET path`.
    pub fn request(&self, path: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream.set_read_timeout(Some(BOUND)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("GET {path}: no status line in {head:?}"));
        (status, body.to_owned())
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns `found`; where it is `None`, panics under `CI=true` (CI must not pass without the
/// check) and otherwise prints one loud line saying which check did not run.
pub fn found_or_skip<T>(found: Option<T>, check: &str, message: &str) -> Option<T> {
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{check}: {message}"
        );
        eprintln!("\n!!! SKIPPED ({check}): {message}\n");
    }
    found
}
