//! Durations written as Prometheus writes them (`5m`, `1h`, `3d`, `1500ms`).

use std::time::Duration;

/// `d` in the largest unit that divides it exactly; `0s` for zero.
pub(crate) fn promql(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    for (unit, len) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if ms.is_multiple_of(len) {
            return format!("{}{unit}", ms / len);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_exact_unit() {
        let s = |secs| promql(Duration::from_secs(secs));
        assert_eq!(s(300), "5m");
        assert_eq!(s(3600), "1h");
        assert_eq!(s(3 * 86400), "3d");
        assert_eq!(s(90), "90s");
        assert_eq!(s(30 * 86400), "30d");
        assert_eq!(promql(Duration::from_millis(1500)), "1500ms");
        assert_eq!(promql(Duration::ZERO), "0s");
    }
}
