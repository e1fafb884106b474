//! Multiwindow, multi-burn-rate alerts ([`BurnRateAlert`]) and what firing and resolving
//! hand to hooks ([`AlertEvent`]).

use std::time::Duration;

use crate::error::Error;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// One row of the SRE Workbook's alerting table: alert at `severity` when the error budget
/// burns faster than `factor` times the sustainable rate over both the long and the short
/// window. The long window makes the alert significant; the short one makes it resolve
/// soon after the burn stops.
#[derive(Debug, Clone, PartialEq)]
pub struct BurnRateAlert {
    severity: String,
    factor: f64,
    long: Duration,
    short: Duration,
}

impl BurnRateAlert {
    /// A rule. Fails unless `factor` is positive and finite, `short < long`, and
    /// `severity` is a valid name (`[a-zA-Z0-9_:-]+`).
    pub fn new(
        severity: impl Into<String>,
        factor: f64,
        long: Duration,
        short: Duration,
    ) -> Result<Self, Error> {
        let severity = severity.into();
        crate::error::check_name(&severity)?;
        if !(factor.is_finite() && factor > 0.0) || short.is_zero() || short >= long {
            return Err(Error::AlertRule { severity });
        }
        Ok(Self {
            severity,
            factor,
            long,
            short,
        })
    }

    /// The SRE Workbook's table (chapter 5, "Alerting on SLOs"), for a 30-day period: page
    /// at 14.4x over 1h and 5m (2 % of the budget in an hour), page at 6x over 6h and 30m
    /// (5 % in 6 hours), ticket at 3x over 1d and 2h (10 % in a day), ticket at 1x over 3d
    /// and 6h (10 % in 3 days).
    pub fn workbook() -> Vec<Self> {
        let rule = |severity: &str, factor, long, short| Self {
            severity: severity.to_owned(),
            factor,
            long,
            short,
        };
        vec![
            rule("page", 14.4, HOUR, 5 * MIN),
            rule("page", 6.0, 6 * HOUR, 30 * MIN),
            rule("ticket", 3.0, DAY, 2 * HOUR),
            rule("ticket", 1.0, 3 * DAY, 6 * HOUR),
        ]
    }

    /// The severity: alerts of one severity fire as one.
    pub fn severity(&self) -> &str {
        &self.severity
    }

    /// How many times the sustainable burn rate.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The long window.
    pub fn long(&self) -> Duration {
        self.long
    }

    /// The short window.
    pub fn short(&self) -> Duration {
        self.short
    }

    /// The rule with every window divided by `by` (for demos and end-to-end tests).
    pub(crate) fn scaled(&self, by: u32) -> Self {
        Self {
            long: self.long / by,
            short: self.short / by,
            ..self.clone()
        }
    }
}

/// An alert that started or stopped firing, handed to hooks.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AlertEvent {
    /// The SLO's or watch's name.
    pub name: String,
    /// The alert's name, as in the Prometheus rules (`SloBurnRatePage`,
    /// `SloBudgetExhausted`, `PrismSeriesGrowth`, ...).
    pub alert: String,
    /// The severity (`page`, `ticket`, ...; the watch's severity for a watch).
    pub severity: String,
    /// True when it started firing, false when it resolved.
    pub firing: bool,
    /// What the alert compares: the highest burn rate among the rules that hold (an SLO
    /// burn-rate alert), the budget remaining (exhaustion), the watched quantity (a watch).
    pub value: f64,
    /// The clock's time at the tick that saw the change.
    pub at: Duration,
}

/// `severity` as the alert name's suffix: `page` is `Page`, `high-urgency` is
/// `HighUrgency`.
pub(crate) fn camel(severity: &str) -> String {
    severity
        .split(['_', '-', ':'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A hook on firing or resolving.
pub(crate) type Hook = Box<dyn Fn(&AlertEvent) + Send + Sync>;

/// The hooks an SLO or a watch calls.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) fire: Vec<Hook>,
    pub(crate) resolve: Vec<Hook>,
}

impl Hooks {
    /// Emits the tracing event and calls the hooks.
    pub(crate) fn emit(&self, e: &AlertEvent) {
        if e.firing {
            tracing::warn!(target: "prism_slo::alert", name = %e.name, alert = %e.alert, severity = %e.severity, value = e.value, "{} firing for {} ({})", e.alert, e.name, e.value);
            self.fire.iter().for_each(|h| h(e));
        } else {
            tracing::info!(target: "prism_slo::alert", name = %e.name, alert = %e.alert, severity = %e.severity, value = e.value, "{} resolved for {} ({})", e.alert, e.name, e.value);
            self.resolve.iter().for_each(|h| h(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rules() {
        assert_eq!(camel("page"), "Page");
        assert_eq!(camel("high-urgency"), "HighUrgency");
        assert!(BurnRateAlert::new("page", 2.0, MIN, HOUR).is_err());
        assert!(BurnRateAlert::new("page", f64::NAN, HOUR, MIN).is_err());
        assert!(BurnRateAlert::new("pa ge", 2.0, HOUR, MIN).is_err());
        assert!(BurnRateAlert::new("page", 2.0, HOUR, MIN).is_ok());
    }
}
