//! Go's byte-level choices, on serde_json's [`Formatter`]: how expvar quotes strings and
//! prints floats, and how `encoding/json` (`json.Marshal`, behind `expvar.Func`) does.
//!
//! The two differ in three places, all reproduced here:
//!
//! | | expvar (`appendJSONQuote`, `Float`) | `json.Marshal` |
//! |---|---|---|
//! | backspace, form feed | `\u0008`, `\u000c` | `\b`, `\f` (Go 1.22 and later) |
//! | floats | `strconv.FormatFloat(f, 'g', -1, 64)`: `1e+06` | `'f'`, or `'e'` below 1e-6 and from 1e21: `1000000`, `1e-7` |
//! | objects | `{"a": 1, "b": 2}` | `{"a":1,"b":2}` |
//!
//! Both escape `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`, `\u003e`, `\u0026`, `\u2028`
//! and `\u2029`, and write `\n`, `\r`, `\t`, `\"`, `\\` short; other control characters
//! become `\u00XX`.

use std::io::{self, Write};

use serde_json::ser::{CharEscape, Formatter};

/// Which Go writer to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `expvar`'s own writer: `Int`, `Float`, `String`, `Map` and the top level.
    Expvar,
    /// `encoding/json`'s `Marshal`: `Func` values, `cmdline`, `memstats`.
    Marshal,
}

/// serde_json's [`Formatter`] made to write Go's bytes.
///
/// serde_json finds the ASCII characters every JSON writer must escape (quote, backslash,
/// control characters) and hands the runs between them to
/// [`write_string_fragment`](Formatter::write_string_fragment); the escapes Go adds on top
/// (HTML and JavaScript line separators) are made there. Object punctuation follows the
/// style: `", "` and `": "` for expvar, `","` and `":"` for `json.Marshal`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GoFormatter {
    style: Style,
    /// The top level of `/debug/vars`: `{` newline, entries joined by `,` newline,
    /// newline `}` newline (Go's `appendJSONMayExpand(b, true)`).
    expanded: bool,
}

impl GoFormatter {
    pub(crate) fn new(style: Style) -> Self {
        Self {
            style,
            expanded: false,
        }
    }

    /// The formatter of the top-level object of `/debug/vars`.
    pub(crate) fn top_level() -> Self {
        Self {
            style: Style::Expvar,
            expanded: true,
        }
    }
}

impl Formatter for GoFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let mut buf = [0u8; 32];
        let len = match self.style {
            Style::Expvar => format_g(value, &mut buf),
            Style::Marshal => format_marshal(value, &mut buf),
        };
        writer.write_all(&buf[..len])
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let escape: &[u8] = match bytes[i] {
                b'<' => b"\\u003c",
                b'>' => b"\\u003e",
                b'&' => b"\\u0026",
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                    b"\\u2028"
                }
                0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                    b"\\u2029"
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            i += if bytes[i] == 0xE2 { 3 } else { 1 };
            start = i;
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let short: &[u8] = match char_escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::Backspace if self.style == Style::Marshal => b"\\b",
            CharEscape::FormFeed if self.style == Style::Marshal => b"\\f",
            CharEscape::Backspace => return write_u00(writer, 0x08),
            CharEscape::FormFeed => return write_u00(writer, 0x0c),
            CharEscape::AsciiControl(byte) => return write_u00(writer, byte),
        };
        writer.write_all(short)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.expanded { &b"{\n"[..] } else { b"{" })
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(if self.expanded { &b"\n}\n"[..] } else { b"}" })
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        match (first, self.style, self.expanded) {
            (true, _, _) => Ok(()),
            (false, _, true) => writer.write_all(b",\n"),
            (false, Style::Expvar, false) => writer.write_all(b", "),
            (false, Style::Marshal, false) => writer.write_all(b","),
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        match self.style {
            Style::Expvar => writer.write_all(b": "),
            Style::Marshal => writer.write_all(b":"),
        }
    }
}

fn write_u00<W: ?Sized + Write>(writer: &mut W, byte: u8) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    writer.write_all(&[
        b'\\',
        b'u',
        b'0',
        b'0',
        HEX[usize::from(byte >> 4)],
        HEX[usize::from(byte & 0xf)],
    ])
}

/// The bytes that make a string need serde_json's escaping or [`GoFormatter`]'s: control
/// characters, `"`, `\`, `<`, `>`, `&`, and 0xE2, the first byte of U+2028 and U+2029.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = true;
        i += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'&' as usize] = true;
    table[0xE2] = true;
    table
};

/// Writes `s` as a quoted JSON string in Go's `style`.
///
/// Most keys and label values need no escape at all; those are copied between quotes
/// directly, and only the others go through serde_json's serializer and [`GoFormatter`].
pub(crate) fn write_str<W: ?Sized + Write>(
    writer: &mut W,
    s: &str,
    style: Style,
) -> io::Result<()> {
    if !s.bytes().any(|b| NEEDS_ESCAPE[usize::from(b)]) {
        writer.write_all(b"\"")?;
        writer.write_all(s.as_bytes())?;
        return writer.write_all(b"\"");
    }
    let mut ser = serde_json::Serializer::with_formatter(writer, GoFormatter::new(style));
    serde::Serializer::serialize_str(&mut ser, s).map_err(io::Error::from)
}

/// Writes `v` as Go does, or `null` where it is NaN or infinite (Go writes `NaN`, `+Inf`,
/// which is not JSON: the one documented difference).
pub(crate) fn write_f64<W: ?Sized + Write>(writer: &mut W, v: f64, style: Style) -> io::Result<()> {
    if v.is_finite() {
        GoFormatter::new(style).write_f64(writer, v)
    } else {
        writer.write_all(b"null")
    }
}

/// Writes an integer the way `strconv.AppendInt`/`AppendUint` do: plain decimal.
pub(crate) fn write_i64<W: ?Sized + Write>(writer: &mut W, v: i64) -> io::Result<()> {
    let mut buf = itoa_buf();
    let s = fmt_int(&mut buf, v.unsigned_abs(), v < 0);
    writer.write_all(s)
}

/// See [`write_i64`].
pub(crate) fn write_u64<W: ?Sized + Write>(writer: &mut W, v: u64) -> io::Result<()> {
    let mut buf = itoa_buf();
    let s = fmt_int(&mut buf, v, false);
    writer.write_all(s)
}

fn itoa_buf() -> [u8; 20] {
    [0u8; 20]
}

fn fmt_int(buf: &mut [u8; 20], mut v: u64, negative: bool) -> &[u8] {
    // 20 digits hold u64::MAX; the sign of i64::MIN (19 digits) is written separately.
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The shortest decimal digits that read back as `v` (finite, non-zero), and the decimal
/// point position: `v = 0.d1d2d3... * 10^point`, as Go's `decimalSlice` has them.
///
/// Rust's `{:e}` prints the shortest round-tripping digits, the closest to `v` when several
/// are as short, but breaks an exact tie upwards; Go (`shortFloat`) takes the correctly
/// rounded digits of that length, which break ties to even: `1000000955392164.25` is
/// `1.0000009553921642e+15` in Go. So the digits are rounded again at the same length with
/// `{:.N$e}` (exact, ties to even) and kept when they still read back as `v`.
fn shortest_digits(v: f64, digits: &mut [u8; 17]) -> (usize, i32) {
    let (nd, point) = digits_of(v, None, digits);
    if nd > 1 {
        let mut even = [0u8; 17];
        let (even_nd, even_point) = digits_of(v, Some(nd - 1), &mut even);
        if even[..even_nd] != digits[..nd] && reads_back(&even[..even_nd], even_point, v) {
            *digits = even;
            return (even_nd, even_point);
        }
    }
    (nd, point)
}

/// Whether `0.digits * 10^point` parses as `v.abs()`.
fn reads_back(digits: &[u8], point: i32, v: f64) -> bool {
    let mut text = [0u8; 40];
    let mut cursor = io::Cursor::new(&mut text[..]);
    let _ = cursor.write_all(b"0.");
    let _ = cursor.write_all(digits);
    let _ = write!(cursor, "e{point}");
    let len = cursor.position() as usize;
    std::str::from_utf8(&text[..len])
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .is_some_and(|parsed| parsed == v.abs())
}

/// The digits and point of `v.abs()` printed with `{:e}` (shortest) or `{:.N$e}`.
fn digits_of(v: f64, precision: Option<usize>, digits: &mut [u8; 17]) -> (usize, i32) {
    let mut text = [0u8; 32];
    let mut cursor = io::Cursor::new(&mut text[..]);
    // A finite f64 prints in at most 24 bytes (`-1.2345678901234567e-308`), and the
    // precision asked for here is never above 16.
    let _ = match precision {
        None => write!(cursor, "{:e}", v.abs()),
        Some(p) => write!(cursor, "{:.*e}", p, v.abs()),
    };
    let len = cursor.position() as usize;
    let text = &text[..len];
    let e = text.iter().position(|&b| b == b'e').unwrap_or(len);
    let mut nd = 0;
    for &b in &text[..e] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let mut exp: i32 = 0;
    let mut negative = false;
    for &b in text.get(e + 1..).unwrap_or(&[]) {
        match b {
            b'-' => negative = true,
            b'0'..=b'9' => exp = exp * 10 + i32::from(b - b'0'),
            _ => {}
        }
    }
    if negative {
        exp = -exp;
    }
    (nd, exp + 1)
}

/// `strconv.FormatFloat(v, 'g', -1, 64)` for finite `v`; returns the length written.
pub(crate) fn format_g(v: f64, out: &mut [u8; 32]) -> usize {
    let mut w = Buf { out, len: 0 };
    if v.is_sign_negative() {
        w.push(b'-');
    }
    if v == 0.0 {
        w.push(b'0');
        return w.len;
    }
    let mut digits = [0u8; 17];
    let (nd, point) = shortest_digits(v, &mut digits);
    let digits = &digits[..nd];
    let exp = point - 1;
    // Go: "if precision was the shortest possible, use precision 6 for this decision".
    if !(-4..6).contains(&exp) {
        fmt_e(&mut w, digits, exp);
    } else {
        fmt_f(&mut w, digits, point);
    }
    w.len
}

/// `encoding/json`'s float: `'f'`, or `'e'` (with `e-07` shortened to `e-7`) when the
/// magnitude is below 1e-6 or at least 1e21. For finite `v`; returns the length written.
pub(crate) fn format_marshal(v: f64, out: &mut [u8; 32]) -> usize {
    let mut w = Buf { out, len: 0 };
    if v.is_sign_negative() {
        w.push(b'-');
    }
    if v == 0.0 {
        w.push(b'0');
        return w.len;
    }
    let mut digits = [0u8; 17];
    let (nd, point) = shortest_digits(v, &mut digits);
    let digits = &digits[..nd];
    let abs = v.abs();
    if !(1e-6..1e21).contains(&abs) {
        fmt_e(&mut w, digits, point - 1);
        let n = w.len;
        if n >= 4 && w.out[n - 4] == b'e' && w.out[n - 3] == b'-' && w.out[n - 2] == b'0' {
            w.out[n - 2] = w.out[n - 1];
            w.len -= 1;
        }
    } else {
        fmt_f(&mut w, digits, point);
    }
    w.len
}

struct Buf<'a> {
    out: &'a mut [u8; 32],
    len: usize,
}

impl Buf<'_> {
    fn push(&mut self, b: u8) {
        // The longest output, `-1.2345678901234567e-308`, is 24 bytes.
        if let Some(slot) = self.out.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }
}

/// Go's `fmtE` with the shortest precision: `d.ddde±XX`, at least two exponent digits.
fn fmt_e(w: &mut Buf<'_>, digits: &[u8], exp: i32) {
    w.push(digits.first().copied().unwrap_or(b'0'));
    if digits.len() > 1 {
        w.push(b'.');
        for &d in &digits[1..] {
            w.push(d);
        }
    }
    w.push(b'e');
    w.push(if exp < 0 { b'-' } else { b'+' });
    let e = exp.unsigned_abs();
    if e >= 100 {
        w.push(b'0' + (e / 100) as u8);
    }
    w.push(b'0' + (e / 10 % 10) as u8);
    w.push(b'0' + (e % 10) as u8);
}

/// Go's `fmtF` with the shortest precision: every digit, no exponent.
fn fmt_f(w: &mut Buf<'_>, digits: &[u8], point: i32) {
    let digit = |i: i32| -> u8 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(b'0')
    };
    if point > 0 {
        for i in 0..point {
            w.push(digit(i));
        }
    } else {
        w.push(b'0');
    }
    let frac = digits.len() as i32 - point;
    if frac > 0 {
        w.push(b'.');
        for i in 0..frac {
            w.push(digit(point + i));
        }
    }
}

/// Decodes bytes the way Go's `for _, r := range s` does: every byte that does not start a
/// valid UTF-8 sequence becomes one U+FFFD.
///
/// [`String::from_utf8_lossy`] follows the Unicode recommendation instead and replaces a
/// truncated sequence (`E2 82`) with one U+FFFD where Go writes two. Hand strings that
/// may hold invalid UTF-8 through this function to get Go's bytes exactly.
///
/// ```
/// assert_eq!(prism_json::go_lossy(b"ok"), "ok");
/// assert_eq!(prism_json::go_lossy(b"a\xE2\x82z"), "a\u{FFFD}\u{FFFD}z");
/// assert_eq!(String::from_utf8_lossy(b"a\xE2\x82z"), "a\u{FFFD}z");
/// ```
pub fn go_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 8);
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let (valid, after) = rest.split_at(e.valid_up_to());
                        out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                        // Go's DecodeRune reports an invalid sequence as width 1 and
                        // restarts at the next byte, whatever Rust's error_len says.
                        out.push('\u{FFFD}');
                        rest = &after[1..];
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1000000955392164.25, exactly halfway between the two shortest candidates
    /// ...164.2 and ...164.3 (found by the Go comparison's random floats).
    const TIE: u64 = 0x430c_6bf6_edc5_0522;

    fn g(v: f64) -> String {
        let mut buf = [0u8; 32];
        let n = format_g(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn m(v: f64) -> String {
        let mut buf = [0u8; 32];
        let n = format_marshal(v, &mut buf);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn quote(s: &str, style: Style) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s, style).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn g_matches_strconv_examples() {
        // Expected values are Go's own output (strconv_test.go / expvar_test.go).
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (1e6, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (0.000123, "0.000123"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (100.0, "100"),
            (1.0 / 3.0, "0.3333333333333333"),
            (-123.456, "-123.456"),
            // An exact tie between two shortest candidates: Go rounds to even.
            (f64::from_bits(TIE), "1.0000009553921642e+15"),
        ];
        for (v, want) in cases {
            assert_eq!(g(v), want, "FormatFloat({v:e}, 'g', -1, 64)");
        }
    }

    #[test]
    fn marshal_matches_encoding_json_examples() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (1e6, "1000000"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (5e-324, "5e-324"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123456789.125, "123456789.125"),
            (f64::from_bits(TIE), "1000000955392164.2"),
        ];
        for (v, want) in cases {
            assert_eq!(m(v), want, "json.Marshal({v:e})");
        }
    }

    #[test]
    fn formatted_floats_read_back_exactly() {
        // Every output must parse back to the same bits: a cheap check over many values.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            assert_eq!(
                g(v).parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{}",
                g(v)
            );
            assert_eq!(
                m(v).parse::<f64>().unwrap().to_bits(),
                v.to_bits(),
                "{}",
                m(v)
            );
        }
    }

    #[test]
    fn non_finite_is_null() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut out = Vec::new();
            write_f64(&mut out, v, Style::Expvar).unwrap();
            assert_eq!(out, b"null");
        }
    }

    #[test]
    fn strings_are_quoted_as_go_quotes_them() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}<>&\u{2028}\u{2029}é\u{FFFD}/\u{7f}";
        assert_eq!(
            quote(s, Style::Expvar),
            r#""a\"b\\c\n\r\t\u0008\u000c\u0001\u001f\u003c\u003e\u0026\u2028\u2029é�/"#.to_owned()
                + "\u{7f}\""
        );
        assert_eq!(
            quote(s, Style::Marshal),
            r#""a\"b\\c\n\r\t\b\f\u0001\u001f\u003c\u003e\u0026\u2028\u2029é�/"#.to_owned()
                + "\u{7f}\""
        );
        // U+2027 and U+202A share the first two bytes and must pass through.
        assert_eq!(
            quote("\u{2027}\u{202a}", Style::Expvar),
            "\"\u{2027}\u{202a}\""
        );
    }

    #[test]
    fn integers_print_plainly() {
        for v in [0i64, 1, -1, 42, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            write_i64(&mut out, v).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        let mut out = Vec::new();
        write_u64(&mut out, u64::MAX).unwrap();
        assert_eq!(out, u64::MAX.to_string().as_bytes());
    }

    #[test]
    fn go_lossy_replaces_each_invalid_byte() {
        assert_eq!(go_lossy(b"\xff\xfe"), "\u{FFFD}\u{FFFD}");
        assert_eq!(go_lossy(b"\xE2\x82"), "\u{FFFD}\u{FFFD}");
        assert_eq!(go_lossy(b"\xF0\x9F\x98"), "\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(go_lossy(b"x\xC0\xAFy"), "x\u{FFFD}\u{FFFD}y");
        assert_eq!(
            go_lossy(b"\xED\xA0\x80"),
            "\u{FFFD}\u{FFFD}\u{FFFD}",
            "surrogates"
        );
        assert_eq!(go_lossy("é😀".as_bytes()), "é😀");
    }
}
