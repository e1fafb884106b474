//! `--load RPS`: real HTTP requests against the demo's own API from inside the process, so
//! that one command shows numbers that move.
//!
//! Each tick sends one request on a new connection (`Connection: close`) to a route chosen
//! at random: an item (one in six of them missing), the slow route, the flaky one, the
//! streaming one, or a path no route matches. At most [`MAX_IN_FLIGHT`] requests are open
//! at once; a tick that finds that many skips its request.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{interval, timeout, MissedTickBehavior};

use crate::api::random;
use crate::metrics::LoadState;

/// The most requests in flight at once.
pub const MAX_IN_FLIGHT: i64 = 256;
/// How long one request may take, connection to last byte.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `rps` requests per second to `addr` until the runtime stops.
pub fn spawn(addr: SocketAddr, rps: u32, state: Arc<LoadState>) {
    let period = Duration::from_secs_f64(1.0 / f64::from(rps.max(1)));
    tokio::spawn(async move {
        let mut ticks = interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            if state.in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                continue;
            }
            state.in_flight.fetch_add(1, Ordering::Relaxed);
            let state = state.clone();
            tokio::spawn(async move {
                if let Ok(Ok(n)) = timeout(REQUEST_TIMEOUT, get(addr, &path())).await {
                    state.bytes_read.fetch_add(n, Ordering::Relaxed);
                }
                state.in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
    });
}

/// A path to ask for, at random.
fn path() -> String {
    let r = random();
    match r % 10 {
        0..=3 => format!("/api/items/{}", (r >> 8) % 1200),
        4 | 5 => "/api/slow".to_owned(),
        6 | 7 => "/api/flaky".to_owned(),
        8 => "/api/stream".to_owned(),
        _ => format!("/api/unknown/{}", (r >> 8) % 100_000),
    }
}

/// `GET path` on a new connection; the bytes of the whole response.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<u64> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let mut buf = [0u8; 4096];
    let mut total = 0u64;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}
