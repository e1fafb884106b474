//! netdata's go_expvar collector, the code of Debian's `netdata-plugins-python` itself, reads
//! the demo's `/debug/vars`: with the documented example configuration (`collect_memstats:
//! true` plus `extra_charts`), every memstats chart and every custom-variable chart gets data.
//!
//! `tests/netdata/go_expvar_driver.py` imports the module's `Service` the way
//! python.d.plugin does, runs `check()`, `get_data()` and one update of each chart, and
//! prints the result as JSON. The python.d folder is found through `PRISM_NETDATA_PYTHON_D`,
//! then Debian's `/usr/lib/netdata/python.d`, then netdata's own `/usr/libexec/netdata/python.d`
//! (`bash .ci/setup.d/netdata.sh` installs it). Where it is missing the test fails under
//! `CI=true` and prints one loud SKIPPED line otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod support;
use support::{found_or_skip, Demo};

/// The demo's `/debug/vars`, parsed.
fn vars(demo: &Demo) -> Value {
    serde_json::from_str(&demo.get("/debug/vars")).expect("/debug/vars is JSON")
}

/// Waits (at most 30 s) until the demo has answered a `GET` of its API with 200 (the demo
/// runs with `--load`), so that every key the collector is configured for exists.
fn wait_for_traffic(demo: &Demo) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while vars(demo)["demo_requests"]["GET"]["200"]
        .as_u64()
        .unwrap_or(0)
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the demo served no GET 200 in 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// netdata's python.d folder, or `None` (with a loud line) where it is missing outside CI.
fn python_d() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = std::env::var_os("PRISM_NETDATA_PYTHON_D")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/lib/netdata/python.d", "/usr/libexec/netdata/python.d"].map(PathBuf::from))
        .collect();
    let found = candidates
        .iter()
        .find(|d| d.join("go_expvar.chart.py").is_file())
        .cloned();
    let message = format!(
        "netdata's go_expvar.chart.py is not in {candidates:?}, so the demo's /debug/vars \
         was NOT read by netdata's go_expvar collector. Install it with \
         `bash .ci/setup.d/netdata.sh` (Debian package `netdata-plugins-python`) or point \
         PRISM_NETDATA_PYTHON_D at a python.d folder."
    );
    found_or_skip(found, "netdata go_expvar", &message)
}

#[test]
fn netdata_go_expvar_collects_memstats_and_custom_variables_from_the_demo() {
    let Some(python_d) = python_d() else { return };
    let demo = Demo::start_with(
        &["--load", "100"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", None),
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", None),
        ],
    );
    wait_for_traffic(&demo);
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/netdata/go_expvar_driver.py");
    let url = format!("http://{}/debug/vars", demo.addr);
    let out = Command::new("python3")
        .arg(&driver)
        .arg(&python_d)
        .arg(&url)
        .output()
        .expect("run python3 (install it with apt-get install python3)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the go_expvar driver failed:\n{stderr}"
    );
    let result: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("driver output is not JSON ({e}):\n{stderr}"));
    assert_eq!(result["check"], true, "check() failed: {result}\n{stderr}");

    // Every chart the configuration defines got data in one update.
    let charts = result["charts"].as_object().expect("charts");
    let expected = [
        "memstats_heap",
        "memstats_stack",
        "memstats_mspan",
        "memstats_mcache",
        "memstats_sys",
        "memstats_live_objects",
        "memstats_gc_pauses",
        "demo_handled",
        "demo_requests",
    ];
    for chart in expected {
        assert_eq!(
            charts.get(chart),
            Some(&Value::Bool(true)),
            "chart {chart}: {result}"
        );
    }
    assert_eq!(charts.len(), expected.len(), "{result}");

    // The figures are the demo's: its counting allocator's, its families'.
    let data = &result["data"];
    let n = |key: &str| {
        data[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {result}"))
    };
    assert!(n("memstats_heap_alloc") > 0.0, "{result}");
    assert!(n("memstats_live_objects") > 0.0, "{result}");
    assert!(n("memstats_sys") >= n("memstats_heap_inuse"), "{result}");
    assert_eq!(n("memstats_gc_pauses"), 0.0, "{result}");
    assert!(n("demo_handled") >= 1.0, "{result}");
    assert!(n("demo_requests_get_200") >= 1.0, "{result}");
    // A float variable is multiplied by 100; the demo's temperature is 20.00 to 29.99.
    let temperature = n("demo_temperature");
    assert!((2000.0..3000.0).contains(&temperature), "{result}");
}
