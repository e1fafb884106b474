//! Rendering while writers keep writing: no lock is held across a render, so writers and
//! registrations go on, every render is whole and well-formed, and counters read by
//! successive renders never go down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

use prism_core::{Counter, Family, Gauge, Registry};
use prism_prom::{Format, Renderer};

/// `name{labels}` -> value for every sample line; panics on a malformed line.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value {line:?}"));
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "duplicate series {series}"
        );
    }
    out
}

#[test]
fn renders_during_writes_are_whole_and_counters_never_go_down() {
    let registry = Registry::new();
    let family = registry
        .register(
            "hammered",
            "Updated while rendered.",
            Family::<Counter>::new(["key"]),
        )
        .unwrap();
    let level = registry
        .register("level", "A gauge set while rendered.", Gauge::new())
        .unwrap();
    const WRITES: u64 = 200_000;
    const KEYS: u64 = 64;
    let writers_done = AtomicUsize::new(0);
    let start = Barrier::new(3);

    std::thread::scope(|s| {
        for writer in 0..2u64 {
            let (family, level, start, done) = (&family, &level, &start, &writers_done);
            s.spawn(move || {
                start.wait();
                for i in 0..WRITES {
                    family.get(&[format!("k{}", (i * 7 + writer) % KEYS)]).inc();
                    level.set(i as i64);
                }
                done.fetch_add(1, Ordering::Release);
            });
        }
        let reader = s.spawn(|| {
            start.wait();
            let mut renderer = Renderer::new(registry.clone());
            let mut last: HashMap<String, f64> = HashMap::new();
            let mut renders = 0;
            let mut body = String::new();
            while writers_done.load(Ordering::Acquire) < 2 || renders < 3 {
                for format in [Format::Prometheus, Format::OpenMetrics] {
                    body.clear();
                    renderer.render_into(format, &mut body);
                    if format == Format::OpenMetrics {
                        assert!(body.ends_with("# EOF\n"));
                    }
                    let now = samples(&body);
                    for (series, value) in &now {
                        if series.starts_with("hammered_total") {
                            if let Some(before) = last.get(series) {
                                assert!(value >= before, "{series} went down: {before} -> {value}");
                            }
                        }
                    }
                    last.extend(
                        now.into_iter()
                            .filter(|(k, _)| k.starts_with("hammered_total")),
                    );
                }
                renders += 1;
            }
            renders
        });
        // The reader renders until both writers are done.
        assert!(reader.join().unwrap() >= 3);
    });

    // After the writers, the render holds every increment.
    let text = Renderer::new(registry.clone()).render(Format::Prometheus);
    let total: f64 = samples(&text)
        .iter()
        .filter(|(k, _)| k.starts_with("hammered_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, (2 * WRITES) as f64);
}

#[test]
fn registering_and_removing_during_renders_neither_blocks_nor_tears() {
    let registry = Registry::builder().self_telemetry(false).build();
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        s.spawn(|| {
            start.wait();
            for i in 0..300 {
                let name = format!("family_{i:03}");
                let f = registry
                    .register(&name, "Registered mid-render.", Gauge::new())
                    .unwrap();
                f.set(i);
                if i % 3 == 0 {
                    assert!(registry.unregister(&name));
                }
            }
        });
        start.wait();
        let mut renderer = Renderer::new(registry.clone());
        for _ in 0..200 {
            for format in [Format::Prometheus, Format::OpenMetrics] {
                let text = renderer.render(format);
                // Every family that appears is whole: HELP, TYPE, then its one sample.
                let lines: Vec<&str> = text.lines().filter(|l| *l != "# EOF").collect();
                assert_eq!(lines.len() % 3, 0, "{text}");
                for chunk in lines.chunks(3) {
                    let name = chunk[0]
                        .strip_prefix("# HELP ")
                        .unwrap()
                        .split(' ')
                        .next()
                        .unwrap();
                    assert_eq!(chunk[1], format!("# TYPE {name} gauge"));
                    assert!(chunk[2].starts_with(&format!("{name} ")), "{chunk:?}");
                }
            }
        }
    });
    let text = Renderer::new(registry).render(Format::Prometheus);
    assert_eq!(text.matches("# TYPE ").count(), 200);
}
