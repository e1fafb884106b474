//! `prism-conformance`: runs the scenario corpus, prints what prism writes for a scenario,
//! or checks a running service. See `prism-conformance --help`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use prism_conformance::corpus;
use prism_conformance::live::{self, Options};
use prism_conformance::{Format, Report, Scenario};

const USAGE: &str = "\
usage:
  prism-conformance check [SCENARIO...]
      Runs the corpus (or the given scenarios: files, or names of corpus scenarios),
      one row per scenario and a column per format; exits 1 on any mismatch.
  prism-conformance render --format FORMAT SCENARIO
      Prints what prism writes for a scenario. FORMAT: json, prometheus, openmetrics,
      otlp-json, otlp-proto.
  prism-conformance live --url http://HOST:PORT [--otlp-listen ADDR] [--otlp-timeout SECS]
                         [--metrics-path PATH] [--vars-path PATH]
      Scrapes a running service's /metrics (0.0.4 and OpenMetrics) and /debug/vars,
      receives its OTLP/HTTP push on ADDR (e.g. 127.0.0.1:4318) when given, and compares
      the series they share; counters may only grow between reads. Exits 1 on a mismatch.
  prism-conformance list
      Lists the corpus scenarios.

exit status: 0 all agree, 1 a mismatch or a failed read, 2 a usage or input error";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("render") => render(&args[1..]),
        Some("live") => run_live(&args[1..]),
        Some("list") => list(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(true)
        }
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err("no command".to_owned()),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("prism-conformance: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// A scenario named on the command line: a file, or a corpus scenario's name.
fn load(arg: &str) -> Result<Scenario, String> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{arg}: {e}"))?;
        return Scenario::from_json(&text).map_err(|e| format!("{arg}: {}", e.message));
    }
    let scenarios = corpus::scenarios().map_err(|e| e.to_string())?;
    scenarios
        .into_iter()
        .find(|s| s.name == arg || format!("{}.json", s.name) == arg)
        .ok_or_else(|| format!("{arg:?} is neither a file nor a corpus scenario (see `list`)"))
}

fn list() -> Result<bool, String> {
    for s in corpus::scenarios().map_err(|e| e.to_string())? {
        println!("{:<24} {}", s.name, s.description);
    }
    Ok(true)
}

fn check(args: &[String]) -> Result<bool, String> {
    let scenarios = if args.is_empty() {
        corpus::scenarios().map_err(|e| e.to_string())?
    } else {
        args.iter().map(|a| load(a)).collect::<Result<_, _>>()?
    };
    let width = scenarios
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!("{}", Report::header(width));
    let mut details = Vec::new();
    let mut ok = true;
    for scenario in &scenarios {
        let report = scenario.check().map_err(|e| e.to_string())?;
        println!("{}", report.row(width));
        ok &= report.is_ok();
        for column in &report.columns {
            if let Some(k) = corpus::known_failure(&scenario.name, column.format) {
                if column.outcome.failed() {
                    details.push(format!(
                        "{}: {}: known failure: {}",
                        scenario.name, column.format, k.reason
                    ));
                }
            }
        }
        details.extend(report.details());
    }
    if !details.is_empty() {
        println!();
        for line in &details {
            println!("{line}");
        }
    }
    println!(
        "\n{} scenarios: {}",
        scenarios.len(),
        if ok { "all formats agree" } else { "MISMATCH" }
    );
    Ok(ok)
}

fn render(args: &[String]) -> Result<bool, String> {
    let mut format = None;
    let mut scenario = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--format" => {
                let value = it.next().ok_or("--format needs a value")?;
                format = Some(value.parse::<Format>()?);
            }
            other if other.starts_with("--format=") => {
                format = Some(other["--format=".len()..].parse::<Format>()?);
            }
            other if scenario.is_none() && !other.starts_with('-') => scenario = Some(other),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let format = format.ok_or("render needs --format")?;
    let scenario = load(scenario.ok_or("render needs a scenario")?)?;
    let registry = scenario.apply().map_err(|e| e.to_string())?;
    let bytes = format.render(&registry);
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|e| format!("writing to stdout: {e}"))?;
    Ok(true)
}

fn run_live(args: &[String]) -> Result<bool, String> {
    let mut url = None;
    let mut options_set: Vec<(String, String)> = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let flag = arg.as_str();
        match flag {
            "--url" | "--otlp-listen" | "--otlp-timeout" | "--metrics-path" | "--vars-path" => {
                let value = it
                    .next()
                    .ok_or_else(|| format!("{flag} needs a value"))?
                    .clone();
                if flag == "--url" {
                    url = Some(value);
                } else {
                    options_set.push((flag.to_owned(), value));
                }
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let url = url.ok_or("live needs --url http://HOST:PORT")?;
    if !url.starts_with("http://") {
        return Err(format!("--url {url:?}: only http:// URLs are supported"));
    }
    let mut options = Options::new(url);
    for (flag, value) in options_set {
        match flag.as_str() {
            "--otlp-listen" => {
                options.otlp_listen = Some(
                    value
                        .parse()
                        .map_err(|e| format!("--otlp-listen {value:?}: {e}"))?,
                )
            }
            "--otlp-timeout" => {
                let secs: f64 = value
                    .parse()
                    .map_err(|e| format!("--otlp-timeout {value:?}: {e}"))?;
                options.otlp_timeout = Duration::try_from_secs_f64(secs)
                    .map_err(|e| format!("--otlp-timeout {value:?}: {e}"))?;
            }
            "--metrics-path" => options.metrics_path = value,
            _ => options.vars_path = value,
        }
    }
    if let Some(addr) = options.otlp_listen {
        println!("receiving OTLP/HTTP on http://{addr}/v1/metrics");
    }
    let report = live::run(&options)?;
    print!("{report}");
    println!(
        "{}",
        if report.is_ok() {
            "live: all formats agree"
        } else {
            "live: MISMATCH"
        }
    );
    Ok(report.is_ok())
}
