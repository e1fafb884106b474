//! Go's expvar as an object: [`Vars`], the published variables of one registry, and the
//! `/debug/vars` document rendered from them.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use prism_core::Registry;

use crate::error::Error;
use crate::map::Map;
use crate::memstats::MemStatsFormat;
use crate::name::metric_name;
use crate::process::Cmdline;
use crate::render::{self, Entry};
use crate::var::{Float, Func, Int, StringVar, Var};

/// Longest part of a key quoted in the help text of its metric; help is printed on every
/// Prometheus scrape, and core refuses help over 64 KiB.
const HELP_KEY_BYTES: usize = 200;

/// The published variables of one registry, and its `/debug/vars` document: Go's
/// `expvar` package as a value (the package-level functions of this crate use
/// [`global`](crate::global)).
///
/// Cloning shares the set. Keys are any strings, as in Go, and JSON shows them as given.
/// [`Int`], [`Float`], [`Map`], [`CounterFn`](prism_core::CounterFn) and
/// [`GaugeFn`](prism_core::GaugeFn) variables are also registered in the registry under
/// the key's [metric name](crate::metric_name), so Prometheus and OTLP show the same
/// values; [`StringVar`] and [`Func`] are JSON only.
///
/// The document holds every family of the registry too, and Go's `cmdline` and
/// `memstats` unless the [builder](Vars::builder) leaves them out.
///
/// ```
/// use prism_core::Registry;
/// use prism_json::Vars;
///
/// let registry = Registry::builder().self_telemetry(false).build();
/// let vars = Vars::builder(&registry).cmdline(false).memstats(false).build();
/// let hits = vars.new_int("cache.hits")?;
/// hits.add(3);
/// assert!(vars.new_int("cache.hits").is_err()); // Go panics here
/// assert!(vars.new_float("cache-hits").is_err()); // same metric name, cache_hits
/// assert_eq!(vars.render_to_string(), "{\n\"cache.hits\": 3\n}\n");
/// assert_eq!(
///     registry.snapshot().family("cache_hits").unwrap().series[0].value,
///     prism_core::Value::Gauge(3)
/// );
/// # Ok::<(), prism_json::Error>(())
/// ```
#[derive(Clone)]
pub struct Vars {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    published: RwLock<Published>,
    cmdline: Cmdline,
    /// `None`: left out.
    memstats: Option<MemStatsFormat>,
}

/// Copy-on-write, so that a render takes two reference counts under the lock and nothing
/// else; publishing (rare) copies.
#[derive(Default, Clone)]
struct Published {
    vars: Arc<BTreeMap<Arc<str>, Var>>,
    /// Metric name -> key, for the variables registered in the registry.
    names: Arc<HashMap<String, Arc<str>>>,
}

impl Vars {
    /// The variables of `registry`, with `cmdline` and `memstats` in the document (as Go).
    pub fn new(registry: &Registry) -> Self {
        Self::builder(registry).build()
    }

    /// Starts a set with options.
    pub fn builder(registry: &Registry) -> VarsBuilder {
        VarsBuilder {
            registry: registry.clone(),
            cmdline: Cmdline::Process,
            memstats: true,
            memstats_format: MemStatsFormat::Go,
        }
    }

    /// The registry the numeric variables are registered in.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// Publishes `var` under `key` (Go's `Publish`). Returns an error where Go panics: the
    /// key is taken (`cmdline` and `memstats` always are), or its metric name is.
    pub fn publish(&self, key: &str, var: impl Into<Var>) -> Result<(), Error> {
        let var = var.into();
        let inner = &*self.inner;
        if key == "cmdline" || key == "memstats" {
            return Err(Error::Duplicate {
                key: key.to_owned(),
            });
        }
        let mut published = inner
            .published
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if published.vars.contains_key(key) {
            return Err(Error::Duplicate {
                key: key.to_owned(),
            });
        }
        if !published.names.contains_key(key)
            && inner.registry.descriptors().iter().any(|d| d.name() == key)
        {
            return Err(Error::TakenByFamily {
                key: key.to_owned(),
            });
        }
        if reaches_registry(&var) {
            let name = metric_name(key);
            if let Some(existing) = published.names.get(&name) {
                return Err(Error::NameCollision {
                    key: key.to_owned(),
                    name,
                    existing: existing.to_string(),
                });
            }
            self.register(&name, key, &var)
                .map_err(|source| Error::Registry {
                    key: key.to_owned(),
                    source,
                })?;
            Arc::make_mut(&mut published.names).insert(name, Arc::from(key));
        }
        Arc::make_mut(&mut published.vars).insert(Arc::from(key), var);
        Ok(())
    }

    fn register(&self, name: &str, key: &str, var: &Var) -> Result<(), prism_core::Error> {
        let registry = &self.inner.registry;
        let mut cut = key.len().min(HELP_KEY_BYTES);
        while !key.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = if cut < key.len() { "..." } else { "" };
        let help = format!(
            "expvar {:?}{more}, published through prism-json.",
            &key[..cut]
        );
        match var {
            Var::Int(v) => registry.register(name, &help, v.gauge().clone()).map(drop),
            Var::Float(v) => registry.register(name, &help, v.gauge().clone()).map(drop),
            Var::Map(m) => registry.register(name, &help, m.family().clone()).map(drop),
            Var::CounterFn(f) => registry.register(name, &help, f.clone()).map(drop),
            Var::GaugeFn(f) => registry.register(name, &help, f.clone()).map(drop),
            Var::String(_) | Var::Func(_) => Ok(()),
        }
    }

    /// Publishes a new [`Int`] at 0 (Go's `NewInt`).
    pub fn new_int(&self, key: &str) -> Result<Int, Error> {
        let v = Int::new();
        self.publish(key, v.clone())?;
        Ok(v)
    }

    /// Publishes a new [`Float`] at 0.0 (Go's `NewFloat`).
    pub fn new_float(&self, key: &str) -> Result<Float, Error> {
        let v = Float::new();
        self.publish(key, v.clone())?;
        Ok(v)
    }

    /// Publishes a new, empty [`StringVar`] (Go's `NewString`); JSON only.
    pub fn new_string(&self, key: &str) -> Result<StringVar, Error> {
        let v = StringVar::new();
        self.publish(key, v.clone())?;
        Ok(v)
    }

    /// Publishes a new, empty [`Map`] (Go's `NewMap`).
    pub fn new_map(&self, key: &str) -> Result<Map, Error> {
        let v = Map::new();
        self.publish(key, v.clone())?;
        Ok(v)
    }

    /// Publishes a closure returning JSON (Go's `Publish(key, expvar.Func(f))`); JSON only.
    /// For numbers that should reach every format, publish a
    /// [`GaugeFn`](prism_core::GaugeFn) or [`CounterFn`](prism_core::CounterFn).
    pub fn publish_fn(
        &self,
        key: &str,
        f: impl Fn() -> serde_json::Value + Send + Sync + 'static,
    ) -> Result<Func, Error> {
        let v = Func::new(f);
        self.publish(key, v.clone())?;
        Ok(v)
    }

    /// The variable published under `key` (Go's `Get`). `cmdline` and `memstats` are not
    /// variables here; they are written at render time.
    pub fn get(&self, key: &str) -> Option<Var> {
        self.published().vars.get(key).cloned()
    }

    /// Calls `f` on each published variable in key order (Go's `Do`). It runs on a copy of
    /// the list, so `f` may publish.
    pub fn for_each(&self, mut f: impl FnMut(&str, &Var)) {
        for (key, var) in self.published().vars.iter() {
            f(key, var);
        }
    }

    /// The published keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.published()
            .vars
            .keys()
            .map(|k| k.to_string())
            .collect()
    }

    fn published(&self) -> Published {
        self.inner
            .published
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Writes the `/debug/vars` document into `out` (appending), byte for byte what Go's
    /// handler writes for the same variables.
    pub fn render(&self, out: &mut Vec<u8>) {
        // Writing to a Vec cannot fail.
        let _ = self.write_to(out);
    }

    /// The `/debug/vars` document as a string.
    pub fn render_to_string(&self) -> String {
        let mut out = Vec::new();
        self.render(&mut out);
        into_string(out)
    }

    /// Streams the `/debug/vars` document into `w`.
    pub fn write_to<W: Write>(&self, mut w: W) -> io::Result<()> {
        let published = self.published();
        let mut entries: Vec<Entry> = Vec::with_capacity(published.vars.len() + 2);
        let mut builtins: Vec<Entry> = Vec::with_capacity(2);
        if !matches!(self.inner.cmdline, Cmdline::Off) {
            builtins.push(Entry::Cmdline);
        }
        if let Some(format) = self.inner.memstats {
            builtins.push(Entry::MemStats(format));
        }
        let mut builtins = builtins.into_iter().peekable();
        for (key, var) in published.vars.iter() {
            while let Some(b) = builtins.next_if(|b| b.key() < &**key) {
                entries.push(b);
            }
            entries.push(Entry::Var(key.clone(), var.clone()));
        }
        entries.extend(builtins);
        let names = &published.names;
        let owned = |name: &str| names.contains_key(name);
        render::render(
            &mut w,
            &self.inner.registry,
            entries,
            &owned,
            &self.inner.cmdline,
        )
    }
}

fn reaches_registry(var: &Var) -> bool {
    match var {
        Var::Int(_) | Var::Float(_) | Var::Map(_) | Var::CounterFn(_) | Var::GaugeFn(_) => true,
        Var::String(_) | Var::Func(_) => false,
    }
}

pub(crate) fn into_string(out: Vec<u8>) -> String {
    // Every writer here emits UTF-8; the fallback only avoids a panic path.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl fmt::Debug for Vars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vars")
            .field("keys", &self.keys())
            .field("cmdline", &self.inner.cmdline)
            .field("memstats", &self.inner.memstats)
            .finish_non_exhaustive()
    }
}

/// Options for [`Vars`]: made by [`Vars::builder`].
#[derive(Debug, Clone)]
pub struct VarsBuilder {
    registry: Registry,
    cmdline: Cmdline,
    memstats: bool,
    memstats_format: MemStatsFormat,
}

impl VarsBuilder {
    /// Whether the document holds `cmdline`, the process arguments (default: yes, as Go).
    /// Leave it out when arguments may carry secrets.
    pub fn cmdline(mut self, on: bool) -> Self {
        self.cmdline = if on { Cmdline::Process } else { Cmdline::Off };
        self
    }

    /// Shows these arguments as `cmdline` instead of the process's: a redacted copy, or a
    /// fixed list for tests.
    pub fn cmdline_args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.cmdline = Cmdline::Args(args.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the document holds `memstats` (default: yes, in
    /// [`MemStatsFormat::Go`], every field of Go's `runtime.MemStats`, so that tools
    /// written for Go programs read it; [`memstats_format`](Self::memstats_format)
    /// chooses another). Leave it out when memory figures should not be public.
    pub fn memstats(mut self, on: bool) -> Self {
        self.memstats = on;
        self
    }

    /// Which figures `memstats` holds: [`MemStatsFormat::Go`] (the default) or [`MemStatsFormat::Process`] (the `/proc/self` figures under descriptive
    /// names).
    ///
    /// ```
    /// use prism_json::{MemStatsFormat, Vars};
    ///
    /// let registry = prism_core::Registry::builder().self_telemetry(false).build();
    /// let go = Vars::builder(&registry).cmdline(false).build();
    /// let doc: serde_json::Value = serde_json::from_str(&go.render_to_string())?;
    /// assert!(doc["memstats"]["Mallocs"].is_u64());
    /// assert_eq!(doc["memstats"]["PauseNs"].as_array().map(Vec::len), Some(256));
    ///
    /// let process = Vars::builder(&registry)
    ///     .cmdline(false)
    ///     .memstats_format(MemStatsFormat::Process)
    ///     .build();
    /// let doc: serde_json::Value = serde_json::from_str(&process.render_to_string())?;
    /// assert!(doc["memstats"].get("Mallocs").is_none());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn memstats_format(mut self, format: MemStatsFormat) -> Self {
        self.memstats_format = format;
        self
    }

    /// Builds the set, with nothing published yet.
    pub fn build(self) -> Vars {
        Vars {
            inner: Arc::new(Inner {
                registry: self.registry,
                published: RwLock::default(),
                cmdline: self.cmdline,
                memstats: self.memstats.then_some(self.memstats_format),
            }),
        }
    }
}

/// The process-wide variables that the package-level functions ([`new_int`](crate::new_int)
/// and the rest) publish into, over [`prism_core::default_registry`], with `cmdline` and
/// `memstats`, as Go's expvar.
pub fn global() -> &'static Vars {
    static GLOBAL: OnceLock<Vars> = OnceLock::new();
    GLOBAL.get_or_init(|| Vars::new(prism_core::default_registry()))
}
