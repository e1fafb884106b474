//! The repository's own OpenMetrics 1.0 parser corpus, `tests/openmetrics_spec/cases.txt`:
//! cases written from the OpenMetrics 1.0 specification, valid and invalid, each naming the
//! rule it checks. Every case must be accepted by [`parse`] exactly when it says `valid`.
//! The file's header describes its format; [`corpus`] reads it and refuses anything else.

use std::collections::HashSet;

use prism_conformance::text::{parse, Dialect};

/// The corpus, built into the test so that it runs from any working directory.
const CASES: &str = include_str!("openmetrics_spec/cases.txt");

/// Floors that an emptied or truncated corpus cannot pass.
const MIN_CASES: usize = 80;
const MIN_VALID: usize = 25;
const MIN_INVALID: usize = 25;

/// One case of the corpus.
#[derive(Debug)]
struct Case {
    name: String,
    valid: bool,
    rule_id: String,
    rule: String,
    bytes: Vec<u8>,
    /// The 1-based line of `[case]` in `cases.txt`.
    line: usize,
}

/// Reads the corpus format: `[case] name`, `expect:`, `rule:`, then the exposition between
/// two `~~~` lines; the first problem is an error naming its line.
fn corpus(text: &str) -> Result<Vec<Case>, String> {
    enum State {
        Outside,
        Header(Case, Option<bool>),
        Body(Case),
    }
    let mut cases = Vec::new();
    let mut state = State::Outside;
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let at = |m: String| format!("cases.txt:{n}: {m}");
        state = match state {
            State::Outside => {
                if let Some(name) = line.strip_prefix("[case] ") {
                    let case = Case {
                        name: name.to_owned(),
                        valid: false,
                        rule_id: String::new(),
                        rule: String::new(),
                        bytes: Vec::new(),
                        line: n,
                    };
                    State::Header(case, None)
                } else if line.is_empty() || line.starts_with('#') {
                    State::Outside
                } else {
                    return Err(at(format!(
                        "expected `[case] <name>`, a comment or a blank line, found {line:?}"
                    )));
                }
            }
            State::Header(mut case, expect) => {
                if let Some(value) = line.strip_prefix("expect: ") {
                    let valid = match value {
                        "valid" => true,
                        "invalid" => false,
                        other => {
                            return Err(at(format!(
                                "expect is `valid` or `invalid`, not {other:?}"
                            )))
                        }
                    };
                    if expect.is_some() {
                        return Err(at("a second `expect:`".into()));
                    }
                    State::Header(case, Some(valid))
                } else if let Some(rule) = line.strip_prefix("rule: ") {
                    if !case.rule_id.is_empty() {
                        return Err(at("a second `rule:`".into()));
                    }
                    let (id, text) = rule
                        .split_once(": ")
                        .ok_or_else(|| at(format!("a rule is `<ID>: <text>`, not {rule:?}")))?;
                    case.rule_id = id.to_owned();
                    case.rule = text.to_owned();
                    State::Header(case, expect)
                } else if line == "~~~" {
                    case.valid =
                        expect.ok_or_else(|| at(format!("{}: no `expect:`", case.name)))?;
                    State::Body(case)
                } else {
                    return Err(at(format!(
                        "expected `expect:`, `rule:` or `~~~` in case {}, found {line:?}",
                        case.name
                    )));
                }
            }
            State::Body(mut case) => {
                if line == "~~~" {
                    cases.push(case);
                    State::Outside
                } else {
                    decode_line(line, &mut case.bytes).map_err(at)?;
                    State::Body(case)
                }
            }
        };
    }
    match state {
        State::Outside => Ok(cases),
        State::Header(case, _) | State::Body(case) => Err(format!(
            "cases.txt:{}: case {} does not end with `~~~`",
            case.line, case.name
        )),
    }
}

/// Appends one exposition line: `⟨xHH⟩` is the byte 0xHH, `⟨noLF⟩` at the end drops the
/// line's `\n`; tabs, carriage returns and trailing blanks must be written as `⟨xHH⟩`, so
/// that an editor cannot change a case unseen.
fn decode_line(line: &str, out: &mut Vec<u8>) -> Result<(), String> {
    if line.contains(['\t', '\r']) {
        return Err(format!(
            "a literal tab or carriage return in {line:?}: write ⟨x09⟩ or ⟨x0D⟩"
        ));
    }
    if line.ends_with(' ') {
        return Err(format!("a trailing blank in {line:?}: write ⟨x20⟩"));
    }
    let mut rest = line;
    let mut newline = true;
    while let Some(start) = rest.find('⟨') {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let after = &rest[start + '⟨'.len_utf8()..];
        let end = after
            .find('⟩')
            .ok_or_else(|| format!("an unclosed ⟨ in {line:?}"))?;
        let token = &after[..end];
        rest = &after[end + '⟩'.len_utf8()..];
        match token {
            "noLF" if rest.is_empty() => newline = false,
            "noLF" => return Err(format!("⟨noLF⟩ before the end of {line:?}")),
            _ => {
                let hex = token
                    .strip_prefix('x')
                    .filter(|h| h.len() == 2)
                    .ok_or_else(|| format!("unknown ⟨{token}⟩ in {line:?}"))?;
                let byte = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("⟨{token}⟩ is not two hex digits in {line:?}"))?;
                out.push(byte);
            }
        }
    }
    out.extend_from_slice(rest.as_bytes());
    if newline {
        out.push(b'\n');
    }
    Ok(())
}

/// Whether `id` is a rule id: upper-case words of letters and digits joined by `-`.
fn is_rule_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            word.starts_with(|c: char| c.is_ascii_uppercase())
                && word
                    .bytes()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
}

#[test]
fn openmetrics_spec_corpus() {
    let cases = corpus(CASES).unwrap_or_else(|e| panic!("openmetrics_spec/{e}"));

    let mut names = HashSet::new();
    for case in &cases {
        let where_ = format!("cases.txt:{}: case {:?}", case.line, case.name);
        assert!(
            !case.name.is_empty()
                && case
                    .name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_'),
            "{where_}: a name is made of a-z, 0-9 and `_`"
        );
        assert!(names.insert(&case.name), "{where_}: the name is taken");
        assert!(
            is_rule_id(&case.rule_id) && case.rule.trim().len() >= 10,
            "{where_}: every case names its rule as `rule: <ID>: <the rule>` (found {:?}: {:?})",
            case.rule_id,
            case.rule
        );
    }
    let valid = cases.iter().filter(|c| c.valid).count();
    let invalid = cases.len() - valid;
    assert!(
        cases.len() >= MIN_CASES && valid >= MIN_VALID && invalid >= MIN_INVALID,
        "the corpus holds {} cases ({valid} valid, {invalid} invalid); it needs at least \
         {MIN_CASES}, with {MIN_VALID} valid and {MIN_INVALID} invalid",
        cases.len()
    );

    let disagreements: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let result = parse(&case.bytes, Dialect::OpenMetrics);
            let head = format!(
                "cases.txt:{}: {} [{}: {}]",
                case.line, case.name, case.rule_id, case.rule
            );
            match (case.valid, result) {
                (true, Err(e)) => Some(format!("{head}\n    valid, but refused: {e}")),
                (false, Ok(_)) => Some(format!("{head}\n    invalid, but accepted")),
                _ => None,
            }
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "{} of {} cases disagree with the specification:\n{}",
        disagreements.len(),
        cases.len(),
        disagreements.join("\n")
    );
}

#[test]
fn corpus_format_decodes_bytes_and_refuses_mistakes() {
    let mut out = Vec::new();
    decode_line("a⟨x00⟩b⟨x0D⟩⟨noLF⟩", &mut out).unwrap();
    decode_line("é⟨xFF⟩", &mut out).unwrap();
    assert_eq!(out, b"a\0b\r\xc3\xa9\xff\n");

    for bad in [
        "a\tb",
        "a\r",
        "a ",
        "⟨x0⟩",
        "⟨xZZ⟩",
        "⟨noLF⟩a",
        "⟨x00",
        "⟨cr⟩",
    ] {
        assert!(
            decode_line(bad, &mut Vec::new()).is_err(),
            "{bad:?} is refused"
        );
    }

    let one = "# header\n\n[case] a_b\nexpect: invalid\nrule: EOF-REQUIRED: the text ends with `# EOF`\n~~~\nx 1\n~~~\n";
    let cases = corpus(one).unwrap();
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(
        (
            case.name.as_str(),
            case.valid,
            case.rule_id.as_str(),
            case.line
        ),
        ("a_b", false, "EOF-REQUIRED", 3)
    );
    assert_eq!(case.bytes, b"x 1\n");
    let empty = corpus("[case] e\nexpect: valid\nrule: R: something\n~~~\n~~~\n").unwrap();
    assert!(empty[0].bytes.is_empty() && empty[0].valid);

    for (bad, why) in [
        ("stray\n", "expected `[case]"),
        ("[case] a\nrule: R: x\n~~~\n~~~\n", "no `expect:`"),
        ("[case] a\nexpect: maybe\n", "`valid` or `invalid`"),
        (
            "[case] a\nexpect: valid\nrule: no separator\n",
            "`<ID>: <text>`",
        ),
        (
            "[case] a\nexpect: valid\nrule: R: x\n~~~\nx 1\n",
            "does not end",
        ),
    ] {
        let err = corpus(bad).expect_err(bad);
        assert!(err.contains(why), "{bad:?}: {err}");
    }
    assert!(is_rule_id("HIST-LE-RESERVED") && is_rule_id("UTF8"));
    assert!(!is_rule_id("hist") && !is_rule_id("A--B") && !is_rule_id(""));
}
