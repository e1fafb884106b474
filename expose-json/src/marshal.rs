//! Any JSON value written as Go's `json.Marshal` writes the same value: the bytes of an
//! `expvar.Func`, through [`GoFormatter`] in its `Marshal` style.

use std::io::{self, Write};

use serde_json::ser::Formatter;
use serde_json::Value;

use crate::format::{self, GoFormatter, Style};

/// Deeper values are written as `null` rather than risking the stack on a value built by
/// hand (serde_json's own parser stops at 128; Go's encoder at 10000).
const MAX_DEPTH: usize = 1000;

/// Writes `value` compactly with object keys in byte order (as Go sorts map keys), whatever
/// order the `serde_json::Map` keeps (`preserve_order` may be on elsewhere in the build).
pub(crate) fn write_value<W: ?Sized + Write>(w: &mut W, value: &Value) -> io::Result<()> {
    write_at(w, value, 0)
}

fn write_at<W: ?Sized + Write>(w: &mut W, value: &Value, depth: usize) -> io::Result<()> {
    let mut f = GoFormatter::new(Style::Marshal);
    if depth > MAX_DEPTH {
        return f.write_null(w);
    }
    match value {
        Value::Null => f.write_null(w),
        Value::Bool(b) => f.write_bool(w, *b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                format::write_u64(w, u)
            } else if let Some(i) = n.as_i64() {
                format::write_i64(w, i)
            } else {
                format::write_f64(w, n.as_f64().unwrap_or(f64::NAN), Style::Marshal)
            }
        }
        Value::String(s) => format::write_str(w, s, Style::Marshal),
        Value::Array(items) => {
            f.begin_array(w)?;
            for (i, item) in items.iter().enumerate() {
                f.begin_array_value(w, i == 0)?;
                write_at(w, item, depth + 1)?;
                f.end_array_value(w)?;
            }
            f.end_array(w)
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            f.begin_object(w)?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                f.begin_object_key(w, i == 0)?;
                format::write_str(w, key, Style::Marshal)?;
                f.end_object_key(w)?;
                f.begin_object_value(w)?;
                write_at(w, item, depth + 1)?;
                f.end_object_value(w)?;
            }
            f.end_object(w)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn marshal(v: &Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_as_json_marshal() {
        let v = json!({
            "z": null, "a": [true, false, 1.0, -2, 18446744073709551615u64, 1e21, 1e-7],
            "m": {"\u{8}": "\u{c}<&>"}, "": ""
        });
        assert_eq!(
            marshal(&v),
            r#"{"":"","a":[true,false,1,-2,18446744073709551615,1e+21,1e-7],"m":{"\b":"\f\u003c\u0026\u003e"},"z":null}"#
        );
        assert_eq!(marshal(&json!([])), "[]");
        assert_eq!(marshal(&json!({})), "{}");
    }

    #[test]
    fn very_deep_values_are_cut_off_not_overflowed() {
        let mut v = json!(1);
        for _ in 0..5000 {
            v = Value::Array(vec![v]);
        }
        let out = marshal(&v);
        let want = "[".repeat(MAX_DEPTH + 1) + "null" + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(out, want);
        // Drop iteratively: serde_json's own Drop would recurse 5000 deep.
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }
}
