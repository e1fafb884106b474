//! Publishing, updating and rendering from several threads at once: no panic, no
//! deadlock, no lost update, and every document rendered meanwhile is valid JSON.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use prism_core::Registry;
use prism_json::{Var, Vars};
use serde_json::Value;

const THREADS: usize = 8;
const UPDATES: i64 = 20_000;

#[test]
fn concurrent_publish_add_and_render_lose_nothing() {
    let registry = Registry::new();
    let vars = Vars::new(&registry);
    let shared_int = vars.new_int("shared.int").unwrap();
    let shared_float = vars.new_float("shared.float").unwrap();
    let shared_map = vars.new_map("shared.map").unwrap();
    let done = Arc::new(AtomicBool::new(false));
    // The writers, the two readers and this thread start together.
    let start = Arc::new(Barrier::new(THREADS + 3));

    // Two readers render the whole document in a loop while the writers run.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (vars, done, start) = (vars.clone(), done.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let mut renders = 0u32;
                while !done.load(Ordering::Relaxed) || renders == 0 {
                    let doc = vars.render_to_string();
                    let parsed: Value = serde_json::from_str(&doc).expect("valid JSON mid-update");
                    assert!(parsed["shared.int"].is_i64());
                    renders += 1;
                }
                renders
            })
        })
        .collect();

    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (vars, start) = (vars.clone(), start.clone());
            let (int, float, map) = (shared_int.clone(), shared_float.clone(), shared_map.clone());
            thread::spawn(move || {
                start.wait();
                // Every thread tries to publish the same contested key; one wins.
                let contested = vars.new_int("contested").is_ok();
                let own = vars.new_map(&format!("thread.{t}")).unwrap();
                for i in 0..UPDATES {
                    int.add(1);
                    float.add(0.5);
                    map.add("all", 1);
                    map.add(&format!("t{}", i % 50), 1);
                    map.add_float("f", 0.25);
                    own.add("n", 2);
                    if i % 1000 == 0 {
                        // Publishing while others render and update.
                        vars.publish(&format!("late.{t}.{i}"), Var::Int(prism_json::Int::new()))
                            .unwrap();
                    }
                }
                contested
            })
        })
        .collect();

    start.wait();
    let winners = writers
        .into_iter()
        .map(|w| w.join().unwrap())
        .filter(|&won| won)
        .count();
    done.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }

    let total = THREADS as i64 * UPDATES;
    assert_eq!(winners, 1, "exactly one thread publishes a contested key");
    assert_eq!(shared_int.value(), total);
    assert_eq!(shared_float.value(), total as f64 * 0.5);

    let doc: Value = serde_json::from_str(&vars.render_to_string()).unwrap();
    assert_eq!(doc["shared.int"], total);
    assert_eq!(doc["shared.float"], total as f64 * 0.5);
    assert_eq!(doc["shared.map"]["all"], total);
    assert_eq!(doc["shared.map"]["f"], total as f64 * 0.25);
    let per_key: i64 = (0..50)
        .map(|k| doc["shared.map"][format!("t{k}")].as_i64().unwrap())
        .sum();
    assert_eq!(per_key, total);
    for t in 0..THREADS {
        assert_eq!(doc[format!("thread.{t}")]["n"], 2 * UPDATES);
    }
    let late = doc
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("late."))
        .count();
    assert_eq!(late, THREADS * (UPDATES as usize / 1000));

    // The registry saw the same numbers.
    let read = registry.snapshot();
    assert_eq!(
        read.family("shared_int").unwrap().series[0].value,
        prism_core::Value::Gauge(total)
    );
    let map = read.family("shared_map").unwrap();
    assert_eq!(
        map.series(&["all"]).unwrap().value,
        prism_core::Value::Gauge(total)
    );
}

#[test]
fn a_closure_may_publish_while_the_document_renders() {
    // Rendering holds no lock while it calls closures, so a Func that publishes (or reads
    // the registry) does not deadlock.
    let registry = Registry::new();
    let vars = Vars::builder(&registry)
        .cmdline(false)
        .memstats(false)
        .build();
    let inner = vars.clone();
    vars.publish_fn("publisher", move || {
        let n = inner.keys().len();
        let _ = inner.new_int(&format!("made.{n}"));
        Value::from(n)
    })
    .unwrap();
    for _ in 0..3 {
        serde_json::from_str::<Value>(&vars.render_to_string()).unwrap();
    }
    assert_eq!(vars.keys(), ["made.1", "made.2", "made.3", "publisher"]);
}
