//! The recorder as the process's global recorder: a test binary of its own, since a
//! process has one global recorder.

use prism_core::{Registry, Value};
use prism_metrics::PrismRecorder;

#[test]
fn installed_once_it_receives_every_macro_and_a_second_install_is_an_error() {
    let registry = Registry::new();
    PrismRecorder::new(&registry).unwrap().install().unwrap();
    // From another thread too: the global recorder is the process's.
    std::thread::spawn(|| metrics::counter!("started", "by" => "thread").increment(1))
        .join()
        .unwrap();
    metrics::counter!("started", "by" => "main").increment(2);
    let snapshot = registry.snapshot();
    let started = snapshot.family("started").unwrap();
    assert_eq!(
        started.series(&["thread"]).unwrap().value,
        Value::Counter(1)
    );
    assert_eq!(started.series(&["main"]).unwrap().value, Value::Counter(2));

    let again = PrismRecorder::new(&Registry::new()).unwrap();
    assert!(again.install().is_err());
}
