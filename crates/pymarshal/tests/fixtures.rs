//! The writer and reader against bytes and outcomes recorded from CPython
//! 3.14 by `tests/fixtures/record.py` (these tests need no interpreter;
//! `fixtures_are_current` re-records them when one is provisioned).

mod common;

use std::process::Command;

use num_bigint::BigInt;
use pymarshal::{ErrorKind, Object, PyStr, Ref};

fn obj(o: Object) -> Ref {
    o.into_ref()
}

fn int(v: i64) -> Ref {
    obj(Object::int(v))
}

fn big(digits: &str) -> Ref {
    obj(Object::Int(digits.parse::<BigInt>().unwrap()))
}

fn string(text: &str, interned: bool) -> Ref {
    obj(Object::str(text, interned))
}

fn bytes(b: &[u8]) -> Ref {
    obj(Object::Bytes(b.to_vec()))
}

fn float(v: f64) -> Ref {
    obj(Object::Float(v))
}

fn tuple(items: Vec<Ref>) -> Ref {
    obj(Object::Tuple(items))
}

fn frozenset(items: Vec<Ref>) -> Ref {
    obj(Object::FrozenSet(items))
}

/// The graph each `dumps.txt` case describes, built the way a compiler
/// would: a fresh `Arc` for every object except those Python shares
/// (`shared_*`), and set elements in an order other than CPython's.
fn hand_built(name: &str) -> Option<Ref> {
    let none = || obj(Object::None);
    Some(match name {
        "small_ints_are_one_object" => tuple(vec![int(5), int(5), int(-5), int(256)]),
        "big_ints_are_distinct" => tuple(vec![int(300), int(300), int(-6), int(257)]),
        "shared_int" => {
            let shared = int(300);
            tuple(vec![shared.clone(), shared])
        }
        "shared_tuple" => {
            let shared = tuple(vec![int(400), int(500)]);
            tuple(vec![shared.clone(), shared])
        }
        "interned_strs_are_one_object" => tuple(vec![string("spam", true), string("spam", true)]),
        "plain_strs_are_distinct" => tuple(vec![string("a b", false), string("a b", false)]),
        "latin1_singletons" => tuple(vec![
            string("\u{e9}", true),
            string("\u{e9}", true),
            string("a", true),
            string("", true),
            string("\u{100}", false),
        ]),
        "bytes_singletons" => tuple(vec![
            bytes(&[7]),
            bytes(&[7]),
            bytes(b""),
            bytes(b""),
            bytes(&[1, 2]),
        ]),
        "empty_tuples" => tuple(vec![tuple(vec![]), tuple(vec![])]),
        "empty_frozenset_is_not_a_singleton" => tuple(vec![frozenset(vec![]), frozenset(vec![])]),
        "ints" => tuple(vec![
            int(2147483647),
            int(-2147483648),
            int(2147483648),
            int(-2147483649),
            int(32768),
            int(35184372088833),
            big("-1267650600228229401496703217721"),
            big(&"1".repeat(300)),
        ]),
        "floats" => tuple(vec![
            float(0.0),
            float(-0.0),
            float(1.5),
            float(f64::INFINITY),
            float(f64::NEG_INFINITY),
            float(f64::from_bits(0x7ff8_0000_0000_0000)),
            float(1e300),
            float(5e-324),
        ]),
        "complexes" => tuple(vec![
            obj(Object::Complex {
                real: 1.0,
                imag: 2.0,
            }),
            obj(Object::Complex {
                real: -0.0,
                imag: f64::INFINITY,
            }),
            obj(Object::Complex {
                real: 0.0,
                imag: 1.0,
            }),
        ]),
        "strs" => tuple(vec![
            string(&"x".repeat(255), false),
            string(&"y".repeat(256), false),
            string(&"z".repeat(300), true),
            string("caf\u{e9}", false),
            obj(Object::Str(
                PyStr::from_code_points(
                    [0xd800, 0xdc00]
                        .into_iter()
                        .chain(" lone surrogates".chars().map(u32::from)),
                    false,
                )
                .unwrap(),
            )),
            string("\u{20ac} uro", true),
            string("\u{1f600} emoji", false),
        ]),
        "tuple_of_255" => tuple((0..255).map(|_| none()).collect()),
        "tuple_of_256" => tuple((0..256).map(|_| none()).collect()),
        "constants" => tuple(vec![
            none(),
            obj(Object::True),
            obj(Object::False),
            obj(Object::Ellipsis),
            obj(Object::StopIteration),
        ]),
        "list_dict_set" => tuple(vec![
            obj(Object::List(vec![int(1000)])),
            obj(Object::Dict(vec![(string("k v", false), int(2000))])),
            obj(Object::Set(vec![int(3000)])),
        ]),
        "slices" => tuple(vec![
            obj(Object::Slice {
                start: int(1),
                stop: none(),
                step: int(300),
            }),
            obj(Object::Slice {
                start: none(),
                stop: none(),
                step: none(),
            }),
        ]),
        "frozenset_sorted" => frozenset(vec![
            string("b b", false),
            bytes(b"xy"),
            int(300),
            none(),
            string("a a", false),
            int(-1),
            float(1.5),
            int(7),
        ]),
        "frozenset_of_tuples" => frozenset(vec![
            tuple(vec![int(1)]),
            tuple(vec![int(2), string("q r", false)]),
        ]),
        "frozenset_shared_element" => {
            let shared = int(300);
            tuple(vec![shared.clone(), frozenset(vec![shared, int(9)])])
        }
        "nested_frozensets" => frozenset(vec![
            frozenset(vec![int(3)]),
            frozenset(vec![int(2), int(1)]),
        ]),
        _ => return None,
    })
}

fn dumps_cases() -> Vec<(String, Vec<u8>)> {
    let text = std::fs::read_to_string(common::fixture("dumps.txt")).unwrap();
    text.lines()
        .map(|line| {
            let (name, hex) = line.split_once('\t').expect("name<TAB>hex");
            (name.to_owned(), common::hex(hex))
        })
        .collect()
}

#[test]
fn hand_built_graphs_write_cpythons_bytes() {
    let cases = dumps_cases();
    assert!(cases.len() >= 20, "dumps.txt has {} cases", cases.len());
    for (name, expected) in &cases {
        let graph = hand_built(name).unwrap_or_else(|| panic!("no hand-built graph for {name}"));
        let written = pymarshal::write(&graph);
        assert_eq!(
            written,
            *expected,
            "{name}: written bytes differ from CPython's at byte {}",
            common::first_mismatch(&written, expected)
        );
    }
}

#[test]
fn cpythons_dumps_read_back_to_the_same_values_and_bytes() {
    for (name, expected) in dumps_cases() {
        let read = pymarshal::read(&expected).unwrap_or_else(|e| panic!("{name}: {e}"));
        let graph = hand_built(&name).unwrap();
        assert_eq!(read, graph, "{name}: read value");
        assert_eq!(pymarshal::first_difference(&read, &graph), None, "{name}");
        assert_eq!(
            pymarshal::write(&read),
            expected,
            "{name}: write(read(bytes))"
        );
    }
}

/// What `marshal.loads` did with each input of `loads.txt`, and what
/// `read` must do.
enum Outcome {
    Ok(String),
    Err(String, String),
}

/// Inputs on which `read` deliberately differs from `marshal.loads` (see
/// `read`'s docs), with what `read` does instead.
const DIVERGENCES: &[(&str, &str)] = &[
    // A tuple holding itself: CPython builds the cycle.
    (
        "a9017200000000",
        "ValueError\tbad marshal data (invalid reference)",
    ),
    // A set with a duplicate: CPython hashes it away.
    ("3c020000004e4e", "ok\t{None, None}"),
];

fn loads_cases() -> Vec<(String, Outcome)> {
    let text = std::fs::read_to_string(common::fixture("loads.txt")).unwrap();
    text.lines()
        .map(|line| {
            let (hex, outcome) = line.split_once('\t').expect("hex<TAB>outcome");
            (hex.to_owned(), parse_outcome(outcome))
        })
        .collect()
}

fn parse_outcome(outcome: &str) -> Outcome {
    let (head, rest) = outcome.split_once('\t').expect("kind<TAB>text");
    match head {
        "ok" => Outcome::Ok(rest.to_owned()),
        kind => Outcome::Err(kind.to_owned(), rest.to_owned()),
    }
}

#[test]
fn read_matches_marshal_loads_outcomes() {
    let cases = loads_cases();
    assert!(cases.len() > 80, "loads.txt has {} cases", cases.len());
    for (hex, recorded) in cases {
        let expected = match DIVERGENCES.iter().find(|(input, _)| *input == hex) {
            Some((_, ours)) => parse_outcome(ours),
            None => recorded,
        };
        let input = common::hex(&hex);
        let short = &hex[..hex.len().min(40)];
        match (pymarshal::read(&input), expected) {
            (Ok(value), Outcome::Ok(repr)) => {
                if repr != "<long>" {
                    assert_eq!(value.to_string(), repr, "{short}: repr of the value read");
                }
            }
            (Err(err), Outcome::Err(kind, message)) => {
                assert_eq!(err.kind.python_name(), kind, "{short}: exception ({err})");
                if err.kind == ErrorKind::SystemError {
                    // CPython prefixes its C source position.
                    assert!(
                        message.ends_with(&err.message),
                        "{short}: {message} vs {err}"
                    );
                } else {
                    assert_eq!(err.message, message, "{short}: message");
                }
                assert!(err.offset <= input.len(), "{short}: offset {}", err.offset);
            }
            (Ok(value), Outcome::Err(kind, message)) => {
                panic!("{short}: read {value}, CPython raised {kind}: {message}")
            }
            (Err(err), Outcome::Ok(repr)) => panic!("{short}: {err}, CPython read {repr}"),
        }
    }
}

fn kitchen_sinks() -> Vec<(String, Vec<u8>)> {
    ["", ".opt-1", ".opt-2"]
        .iter()
        .map(|tag| {
            let name = format!("kitchen_sink.cpython-314{tag}.pyc");
            let data = std::fs::read(common::fixture(&name)).unwrap();
            (name, data[16..].to_vec())
        })
        .collect()
}

#[test]
fn kitchen_sink_pycs_round_trip() {
    for (name, body) in kitchen_sinks() {
        let root = pymarshal::read(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(pymarshal::write(&root), body, "{name}: write(read(body))");
        let unshared = common::unshare_immortals(&root);
        assert_eq!(pymarshal::write(&unshared), body, "{name}: write(unshared)");
        assert_eq!(
            pymarshal::first_difference(&root, &unshared),
            None,
            "{name}"
        );
    }
}

#[test]
fn first_difference_names_the_code_field() {
    let (_, body) = &kitchen_sinks()[0];
    let root = pymarshal::read(body).unwrap();
    let Object::Code(module) = &*root else {
        panic!("not code")
    };
    let mut changed = (**module).clone();
    changed.qualname = string("renamed", true);
    let other = obj(Object::Code(Box::new(changed)));
    let diff = pymarshal::first_difference(&root, &other).unwrap();
    assert_eq!(diff.path, "co_qualname");
    assert_eq!(
        (diff.left.as_str(), diff.right.as_str()),
        ("'<module>'", "'renamed'")
    );

    // One level down: the function `f` in co_consts.
    let Object::Tuple(consts) = &*module.consts else {
        panic!("consts")
    };
    let index = consts
        .iter()
        .position(|c| matches!(&**c, Object::Code(code) if code.name.to_string() == "'f'"))
        .expect("function f");
    let mut consts2 = consts.clone();
    let Object::Code(f) = &*consts[index] else {
        unreachable!()
    };
    let mut f2 = (**f).clone();
    f2.firstlineno += 1;
    consts2[index] = obj(Object::Code(Box::new(f2)));
    let mut module2 = (**module).clone();
    module2.consts = tuple(consts2);
    let diff = pymarshal::first_difference(&root, &obj(Object::Code(Box::new(module2)))).unwrap();
    assert_eq!(diff.path, format!("co_consts[{index}].co_firstlineno"));
    assert_eq!(
        diff.right.parse::<i32>().unwrap(),
        diff.left.parse::<i32>().unwrap() + 1
    );
}

/// Re-records the fixtures with the provisioned CPython and requires them
/// to equal the checked-in ones (pyc headers aside, which hold the mtime).
#[test]
fn fixtures_are_current() {
    let Some(python) = common::python("fixtures_are_current") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(&python)
        .env_clear()
        .arg(common::fixture("record.py"))
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success(), "record.py failed: {status}");
    for name in ["dumps.txt", "loads.txt", "version.txt"] {
        let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
        let checked_in = std::fs::read_to_string(common::fixture(name)).unwrap();
        assert!(
            fresh == checked_in,
            "{name} is stale: re-run tests/fixtures/record.py"
        );
    }
    for (name, body) in kitchen_sinks() {
        let fresh = std::fs::read(out.path().join(&name)).unwrap();
        assert!(
            fresh[16..] == body[..],
            "{name} is stale: re-run tests/fixtures/record.py"
        );
    }
}
