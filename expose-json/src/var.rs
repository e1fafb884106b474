//! The Go-style variables: [`Var`] and the scalar kinds [`Int`], [`Float`], [`StringVar`]
//! and [`Func`] (the [`Map`] has its own file).

use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, PoisonError, RwLock};

use prism_core::{CounterFn, FloatGauge, Gauge, GaugeFn, Value};

use crate::format::{self, Style};
use crate::map::Map;

/// How deep maps nested in maps are written before a `null` stands in: a map that holds
/// itself would otherwise recurse forever (Go's expvar overflows its stack there).
pub(crate) const MAX_DEPTH: usize = 64;

/// A 64-bit integer variable, Go's `expvar.Int`.
///
/// It is a [`Gauge`] underneath: published, it reaches Prometheus and OTLP as a gauge under
/// the key's [metric name](crate::metric_name). Updates are one atomic operation.
///
/// ```
/// let v = prism_json::Int::new();
/// v.add(5);
/// v.add(-2);
/// assert_eq!(v.value(), 3);
/// assert_eq!(v.to_string(), "3");
/// ```
#[derive(Clone, Default)]
pub struct Int {
    gauge: Gauge,
}

impl Int {
    /// An unpublished variable at 0 (Go's `new(expvar.Int)`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` (wrapping, as Go's `atomic.Int64.Add`).
    #[inline]
    pub fn add(&self, delta: i64) {
        self.gauge.add(delta);
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: i64) {
        self.gauge.set(value);
    }

    /// The current value.
    #[inline]
    pub fn value(&self) -> i64 {
        self.gauge.get()
    }

    /// The gauge underneath, sharing this variable's value.
    pub fn gauge(&self) -> &Gauge {
        &self.gauge
    }
}

impl From<Gauge> for Int {
    /// Shares an existing gauge: updates through either handle are seen by both.
    fn from(gauge: Gauge) -> Self {
        Self { gauge }
    }
}

/// A 64-bit float variable, Go's `expvar.Float`; a [`FloatGauge`] underneath.
///
/// ```
/// let v = prism_json::Float::new();
/// v.set(1e6);
/// assert_eq!(v.to_string(), "1e+06"); // strconv.FormatFloat(v, 'g', -1, 64)
/// v.add(0.5);
/// assert_eq!(v.value(), 1_000_000.5);
/// ```
#[derive(Clone, Default)]
pub struct Float {
    gauge: FloatGauge,
}

impl Float {
    /// An unpublished variable at 0.0 (Go's `new(expvar.Float)`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `delta` (a compare-and-swap loop, as Go's).
    #[inline]
    pub fn add(&self, delta: f64) {
        self.gauge.add(delta);
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, value: f64) {
        self.gauge.set(value);
    }

    /// The current value.
    #[inline]
    pub fn value(&self) -> f64 {
        self.gauge.get()
    }

    /// The gauge underneath, sharing this variable's value.
    pub fn gauge(&self) -> &FloatGauge {
        &self.gauge
    }
}

impl From<FloatGauge> for Float {
    /// Shares an existing gauge.
    fn from(gauge: FloatGauge) -> Self {
        Self { gauge }
    }
}

/// A string variable, Go's `expvar.String`.
///
/// JSON only: no metric kind of Prometheus or OTLP carries a string value, so a published
/// `StringVar` appears in `/debug/vars` and nowhere else.
///
/// ```
/// let v = prism_json::StringVar::new();
/// v.set("<b>ok</b>");
/// assert_eq!(&*v.value(), "<b>ok</b>");
/// assert_eq!(v.to_string(), r#""\u003cb\u003eok\u003c/b\u003e""#);
/// ```
#[derive(Clone, Default)]
pub struct StringVar {
    value: Arc<RwLock<Arc<str>>>,
}

impl StringVar {
    /// An unpublished variable holding `""`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value. To reproduce Go's bytes for input that may not be UTF-8, convert it
    /// with [`go_lossy`](crate::go_lossy).
    pub fn set(&self, value: impl Into<Arc<str>>) {
        let value = value.into();
        // A panic cannot leave an `Arc<str>` half-written: recover from poisoning.
        *self.value.write().unwrap_or_else(PoisonError::into_inner) = value;
    }

    /// The current value.
    pub fn value(&self) -> Arc<str> {
        self.value
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

type FuncFn = dyn Fn() -> serde_json::Value + Send + Sync;

/// A closure returning any JSON, Go's `expvar.Func`, written as `json.Marshal` writes the
/// result (compact, keys sorted, `<>&` escaped, floats in `encoding/json`'s notation).
///
/// JSON only. For a closure that returns a number and should reach Prometheus and OTLP too,
/// publish a [`GaugeFn`] or a [`CounterFn`] instead.
///
/// ```
/// let f = prism_json::Func::new(|| serde_json::json!({"b": [1, 2.5e-7], "a": "<x>"}));
/// assert_eq!(f.to_string(), r#"{"a":"\u003cx\u003e","b":[1,2.5e-7]}"#);
/// ```
#[derive(Clone)]
pub struct Func {
    f: Arc<FuncFn>,
}

impl Func {
    /// Wraps a closure; it runs on the reader's thread at each render.
    pub fn new(f: impl Fn() -> serde_json::Value + Send + Sync + 'static) -> Self {
        Self { f: Arc::new(f) }
    }

    /// Calls the closure.
    pub fn value(&self) -> serde_json::Value {
        (self.f)()
    }
}

/// Any published variable: what [`Vars::get`](crate::Vars::get) returns and what
/// [`Map::set`] stores. Go's `expvar.Var`.
///
/// Its [`Display`](fmt::Display) is Go's `String()`: the variable's JSON.
#[derive(Clone)]
#[non_exhaustive]
pub enum Var {
    /// An integer; a gauge in the other formats.
    Int(Int),
    /// A float; a gauge in the other formats.
    Float(Float),
    /// A string; JSON only.
    String(StringVar),
    /// A map; its `Int` and `Float` entries form a family labelled `key` in the other formats.
    Map(Map),
    /// A closure returning JSON; JSON only.
    Func(Func),
    /// A closure returning a counter value; a counter in the other formats.
    CounterFn(CounterFn),
    /// A closure returning a gauge value; a gauge in the other formats.
    GaugeFn(GaugeFn),
}

impl Var {
    /// Writes the variable's JSON, as Go's `appendJSON`/`String` do.
    pub(crate) fn write_json<W: ?Sized + Write>(&self, w: &mut W, depth: usize) -> io::Result<()> {
        match self {
            Var::Int(v) => format::write_i64(w, v.value()),
            Var::Float(v) => format::write_f64(w, v.value(), Style::Expvar),
            Var::String(v) => format::write_str(w, &v.value(), Style::Expvar),
            Var::Map(m) => m.write_json(w, depth),
            Var::Func(f) => crate::marshal::write_value(w, &f.value()),
            Var::CounterFn(f) => write_value_marshal(w, &f.get()),
            Var::GaugeFn(f) => write_value_marshal(w, &f.get()),
        }
    }

    /// The variable's JSON as a string.
    fn json(&self) -> String {
        let mut out = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_json(&mut out, 0);
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }
}

/// A core value as `json.Marshal` writes the number a Go `Func` returns.
pub(crate) fn write_value_marshal<W: ?Sized + Write>(w: &mut W, value: &Value) -> io::Result<()> {
    match *value {
        Value::Counter(v) => format::write_u64(w, v),
        Value::Gauge(v) => format::write_i64(w, v),
        Value::CounterF64(v) | Value::GaugeF64(v) => format::write_f64(w, v, Style::Marshal),
        // Kinds added to core later (histograms) have no Go counterpart here.
        _ => w.write_all(b"null"),
    }
}

macro_rules! display_as_json {
    ($($ty:ident => $variant:ident),*) => {$(
        impl fmt::Display for $ty {
            /// The JSON Go's `String()` returns.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&Var::$variant(self.clone()).json())
            }
        }

        impl From<$ty> for Var {
            fn from(v: $ty) -> Self {
                Var::$variant(v)
            }
        }
    )*};
}

display_as_json!(Int => Int, Float => Float, StringVar => String, Func => Func, Map => Map);

macro_rules! debug_as_json {
    ($($ty:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }
    )*};
}

debug_as_json!(Int, Float, StringVar, Map);

impl fmt::Debug for Func {
    /// Does not call the closure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Func").finish_non_exhaustive()
    }
}

impl From<CounterFn> for Var {
    fn from(f: CounterFn) -> Self {
        Var::CounterFn(f)
    }
}

impl From<GaugeFn> for Var {
    fn from(f: GaugeFn) -> Self {
        Var::GaugeFn(f)
    }
}

impl fmt::Display for Var {
    /// The JSON Go's `String()` returns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.json())
    }
}

impl fmt::Debug for Var {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Closures are not called for Debug.
        match self {
            Var::Int(v) => write!(f, "Int({v})"),
            Var::Float(v) => write!(f, "Float({v})"),
            Var::String(v) => write!(f, "String({v})"),
            Var::Map(v) => write!(f, "Map({v})"),
            Var::Func(v) => write!(f, "{v:?}"),
            Var::CounterFn(v) => write!(f, "{v:?}"),
            Var::GaugeFn(v) => write!(f, "{v:?}"),
        }
    }
}
