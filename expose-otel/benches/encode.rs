//! OTLP encoding cost against the Prometheus text render of the same registry.
//!
//! Run with `cargo bench -p prism-otel`. One counter family with two labels and N series
//! (N = 1,000, 10,000, 100,000), encoded into a reused buffer:
//!
//! - `otlp protobuf`: `Encoder::encode_protobuf`, the body of an OTLP/HTTP push;
//! - `prost`: `Encoder::encode` then prost's `encode`, the same bytes by the generic
//!   encoder, for comparison with the one-pass writer (`prism_otel::protobuf`);
//! - `otlp request`: `Encoder::encode` alone, the opentelemetry-proto message (what gRPC
//!   hands tonic);
//! - `otlp json`: `Encoder::encode_json`;
//! - `prom 0.0.4`: prism-prom's `Renderer::render_into_vec`, the baseline.
//!
//! Each N has two rows: the registry built with `self_telemetry(false)`, and the default
//! registry (self-telemetry on: six more families, `prism_updates` summed from the values
//! each encode reads), the baseline rendering the same registry. A run without `--bench`
//! (`cargo test --benches`) does N = 1,000 only.
//!
//! Each figure is the fastest of several samples taken in turns, as prism-prom's bench does.
//! The current figures are in the crate's README.md ("Benchmark").

#![allow(missing_docs)] // a bench binary

use std::hint::black_box;
use std::time::{Duration, Instant};

use prism_core::{Counter, Family, Registry};
use prism_otel::{Encoder, Resource};
use prism_prom::{Format, Renderer};

const ROUNDS: usize = 7;
const SAMPLE_TIME: Duration = Duration::from_millis(60);

fn race(contenders: &mut [(&str, &mut dyn FnMut())]) -> Vec<f64> {
    let mut best = vec![f64::INFINITY; contenders.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f)) in contenders.iter_mut().enumerate() {
            let start = Instant::now();
            let mut calls = 0u32;
            while start.elapsed() < SAMPLE_TIME || calls == 0 {
                f();
                calls += 1;
            }
            let ns = start.elapsed().as_nanos() as f64 / f64::from(calls);
            best[i] = best[i].min(ns);
        }
    }
    best
}

fn main() {
    // `cargo bench` passes `--bench`; a test run (`cargo test --benches`) passes nothing.
    let quick = !std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if quick {
        &[1_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    println!("| series | self-telemetry | otlp protobuf ns/series | prost | otlp request | otlp json | prom 0.0.4 | protobuf / prom | prost / prom |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let rows = sizes.iter().flat_map(|&n| [(n, false), (n, true)]);
    for (n, self_telemetry) in rows {
        let registry = Registry::builder().self_telemetry(self_telemetry).build();
        let family = registry
            .register(
                "http_requests",
                "Requests served.",
                Family::<Counter>::builder(["method", "path"])
                    .cardinality_limit(n)
                    .build()
                    .expect("limit > 0"),
            )
            .expect("registers");
        for i in 0..n {
            family.get(&["GET", &format!("/item/{i}")]).add(i as u64);
        }
        let mut encoder = Encoder::new(Resource::new("bench"));
        let mut renderer = Renderer::new(registry.clone());
        let (mut proto_buf, mut prom_buf) = (Vec::new(), Vec::new());
        let mut proto = || {
            proto_buf.clear();
            encoder.encode_protobuf(&registry, &mut proto_buf);
            black_box(&proto_buf);
        };
        let mut encoder4 = Encoder::new(Resource::new("bench"));
        let mut prost_buf = Vec::new();
        let mut via_prost = || {
            prost_buf.clear();
            let request = encoder4.encode(&registry);
            prost_buf.reserve(prost::Message::encoded_len(&request));
            let _ = prost::Message::encode(&request, &mut prost_buf);
            black_box(&prost_buf);
        };
        let mut encoder2 = Encoder::new(Resource::new("bench"));
        let mut request = || {
            black_box(encoder2.encode(&registry));
        };
        let mut encoder3 = Encoder::new(Resource::new("bench"));
        let mut json = || {
            black_box(encoder3.encode_json(&registry));
        };
        let mut prom = || {
            prom_buf.clear();
            renderer.render_into_vec(Format::Prometheus, &mut prom_buf);
            black_box(&prom_buf);
        };
        let t = race(&mut [
            ("otlp protobuf", &mut proto),
            ("prost", &mut via_prost),
            ("otlp request", &mut request),
            ("otlp json", &mut json),
            ("prom", &mut prom),
        ]);
        let per = |i: usize| t[i] / n as f64;
        println!(
            "| {n} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x |",
            if self_telemetry {
                "on (default)"
            } else {
                "off"
            },
            per(0),
            per(1),
            per(2),
            per(3),
            per(4),
            t[0] / t[4],
            t[1] / t[4]
        );
    }
}
