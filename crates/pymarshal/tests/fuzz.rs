//! Arbitrary and mutated input into the reader: errors only, never a panic;
//! whatever it reads, the writer writes, and that reads back equal.
//! Generated graphs go the other way: written, read back equal.

mod common;

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use pymarshal::{Code, Object, PyStr, Ref};

/// 4096 cases per test run; set PROPTEST_CASES for a longer session.
/// Failures found are kept in proptest-regressions/ and replayed first.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4096);
    ProptestConfig::with_cases(cases)
}

/// The property every input must satisfy.
fn check_input(data: &[u8]) -> Result<(), TestCaseError> {
    let Ok(first) = pymarshal::read(data) else {
        return Ok(());
    };
    let written = pymarshal::try_write(&first)
        .map_err(|e| TestCaseError::fail(format!("read a graph the writer refuses: {e}")))?;
    let second = pymarshal::read(&written)
        .map_err(|e| TestCaseError::fail(format!("cannot read what write wrote: {e}")))?;
    if let Some(diff) = pymarshal::first_difference(&first, &second) {
        return Err(TestCaseError::fail(format!(
            "read back differently: {diff}"
        )));
    }
    prop_assert_eq!(
        pymarshal::write(&second),
        written,
        "writing is not deterministic"
    );
    Ok(())
}

/// Valid marshal data to mutate: CPython's recorded dumps, loads inputs
/// and pyc bodies.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(load_seeds)
}

fn load_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for file in ["dumps.txt", "loads.txt"] {
        let text = std::fs::read_to_string(common::fixture(file)).unwrap();
        for line in text.lines() {
            let mut fields = line.split('\t');
            let first = fields.next().unwrap();
            let hex = if file == "dumps.txt" {
                fields.next().unwrap()
            } else {
                first
            };
            let bytes = common::hex(hex);
            if bytes.len() < 2000 {
                seeds.push(bytes);
            }
        }
    }
    for tag in ["", ".opt-1", ".opt-2"] {
        let data = std::fs::read(common::fixture(&format!(
            "kitchen_sink.cpython-314{tag}.pyc"
        )))
        .unwrap();
        seeds.push(data[16..].to_vec());
    }
    seeds
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), proptest::collection::vec(marshalish_byte(), 1..8))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<usize>(), 1..16usize).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), 1..64usize, any::<usize>())
            .prop_map(|(i, n, at)| Mutation::Duplicate(i, n, at)),
    ]
}

fn apply(data: &mut Vec<u8>, mutation: &Mutation) {
    let len = data.len().max(1);
    match mutation {
        Mutation::Set(i, b) => {
            if let Some(slot) = data.get_mut(i % len) {
                *slot = *b;
            }
        }
        Mutation::Insert(i, bytes) => {
            let at = i % (data.len() + 1);
            data.splice(at..at, bytes.iter().copied());
        }
        Mutation::Delete(i, n) => {
            let at = i % len;
            let end = (at + n).min(data.len());
            data.drain(at.min(end)..end);
        }
        Mutation::Truncate(i) => data.truncate(i % len),
        Mutation::Duplicate(i, n, at) => {
            let start = i % len;
            let end = (start + n).min(data.len());
            let chunk: Vec<u8> = data.get(start..end).unwrap_or_default().to_vec();
            let at = at % (data.len() + 1);
            data.splice(at..at, chunk);
        }
    }
}

/// Bytes that are often type codes, flags, small lengths or references.
fn marshalish_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"0NFTS.iIfglxystr([{cua<>:AzZ)".to_vec())
            .prop_flat_map(|t| prop_oneof![Just(t), Just(t | 0x80)]),
        2 => 0u8..4,
        1 => any::<u8>(),
    ]
}

/// Recipes for graphs: a tree whose leaves may name objects of a shared
/// pool, so that the graphs share objects the way compiled code does.
#[derive(Clone, Debug)]
enum Recipe {
    Leaf(Object),
    Shared(usize),
    Tuple(Vec<Recipe>),
    List(Vec<Recipe>),
    Dict(Vec<(Recipe, Recipe)>),
    FrozenSet(Vec<Recipe>),
    Slice(Box<[Recipe; 3]>),
    Code(Vec<Recipe>, Vec<String>, Vec<u8>),
}

fn leaf() -> impl Strategy<Value = Object> {
    prop_oneof![
        Just(Object::None),
        Just(Object::True),
        Just(Object::Ellipsis),
        any::<i64>().prop_map(Object::int),
        (-10i64..300).prop_map(Object::int),
        any::<(i64, i64, bool)>().prop_map(|(a, b, neg)| {
            let v: num_bigint::BigInt =
                num_bigint::BigInt::from(a) * num_bigint::BigInt::from(b) * 1_000_003;
            Object::Int(if neg { -v } else { v })
        }),
        any::<u64>().prop_map(|bits| Object::Float(f64::from_bits(bits))),
        (any::<u64>(), any::<u64>()).prop_map(|(r, i)| Object::Complex {
            real: f64::from_bits(r),
            imag: f64::from_bits(i)
        }),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(Object::Bytes),
        (
            proptest::collection::vec(0u32..0x11_0000, 0..6),
            any::<bool>()
        )
            .prop_map(|(points, interned)| {
                Object::Str(PyStr::from_code_points(points.into_iter(), interned).unwrap())
            }),
        ("[a-c ]{0,3}", any::<bool>()).prop_map(|(s, interned)| Object::str(&s, interned)),
        (300usize..600).prop_map(|n| Object::str(&"w".repeat(n), false)),
    ]
}

fn recipe() -> impl Strategy<Value = Recipe> {
    let base = prop_oneof![
        3 => leaf().prop_map(Recipe::Leaf),
        2 => (0usize..8).prop_map(Recipe::Shared),
    ];
    base.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Recipe::Tuple),
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Recipe::List),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..3).prop_map(Recipe::Dict),
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Recipe::FrozenSet),
            [inner.clone(), inner.clone(), inner.clone()].prop_map(|p| Recipe::Slice(Box::new(p))),
            (
                proptest::collection::vec(inner, 0..4),
                proptest::collection::vec("[a-d]{1,3}", 0..3),
                proptest::collection::vec(any::<u8>(), 0..3),
            )
                .prop_map(|(consts, names, kinds)| Recipe::Code(consts, names, kinds)),
        ]
    })
}

/// Builds the graph; `hashable` (set elements, dict keys, and everything
/// inside them) turns lists and dicts into tuples, as the reader requires
/// hashable keys.
fn build(recipe: &Recipe, pool: &[Ref], hashable: bool) -> Ref {
    let all = |items: &[Recipe], hashable: bool| {
        items
            .iter()
            .map(|r| build(r, pool, hashable))
            .collect::<Vec<_>>()
    };
    match recipe {
        Recipe::Leaf(o) => Arc::new(o.clone()),
        Recipe::Shared(i) => pool[i % pool.len()].clone(),
        Recipe::Tuple(items) => Arc::new(Object::Tuple(all(items, hashable))),
        Recipe::List(items) if hashable => Arc::new(Object::Tuple(all(items, true))),
        Recipe::List(items) => Arc::new(Object::List(all(items, false))),
        Recipe::Dict(pairs) if hashable => Arc::new(Object::Tuple(
            pairs
                .iter()
                .flat_map(|(k, v)| [build(k, pool, true), build(v, pool, true)])
                .collect(),
        )),
        Recipe::Dict(pairs) => Arc::new(Object::Dict(
            pairs
                .iter()
                .map(|(k, v)| (build(k, pool, true), build(v, pool, false)))
                .collect(),
        )),
        Recipe::FrozenSet(items) => Arc::new(Object::FrozenSet(all(items, true))),
        Recipe::Slice(parts) => Arc::new(Object::Slice {
            start: build(&parts[0], pool, hashable),
            stop: build(&parts[1], pool, hashable),
            step: build(&parts[2], pool, hashable),
        }),
        Recipe::Code(consts, names, kinds) => {
            let strs = |names: &[String]| -> Ref {
                let items = names
                    .iter()
                    .map(|n| Object::str(n, true).into_ref())
                    .collect();
                Arc::new(Object::Tuple(items))
            };
            let local_names: Vec<String> = (0..kinds.len()).map(|i| format!("v{i}")).collect();
            let bytes = |b: &[u8]| Object::Bytes(b.to_vec()).into_ref();
            Arc::new(Object::Code(Box::new(Code {
                argcount: 0,
                posonlyargcount: 0,
                kwonlyargcount: 0,
                stacksize: 1 + kinds.len() as i32,
                flags: 3,
                code: bytes(b"\x80\x00R\x00#\x00"),
                consts: Arc::new(Object::Tuple(all(consts, hashable))),
                names: strs(names),
                localsplusnames: strs(&local_names),
                localspluskinds: bytes(kinds),
                filename: Object::str("fuzz.py", true).into_ref(),
                name: Object::str("f", true).into_ref(),
                qualname: Object::str("C.f", true).into_ref(),
                firstlineno: kinds.len() as i32,
                linetable: bytes(kinds),
                exceptiontable: bytes(b""),
            })))
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_input(&data)?;
    }

    #[test]
    fn marshal_like_bytes_never_panic(data in proptest::collection::vec(marshalish_byte(), 0..96)) {
        check_input(&data)?;
    }

    #[test]
    fn mutated_valid_input_never_panics(seed in any::<prop::sample::Index>(),
                                        mutations in proptest::collection::vec(mutation(), 1..6)) {
        let mut data = seed.get(seeds()).clone();
        for m in &mutations {
            apply(&mut data, m);
        }
        check_input(&data)?;
    }

    #[test]
    fn generated_graphs_read_back_equal(pool in proptest::collection::vec(leaf(), 1..8),
                                        root in recipe()) {
        let pool: Vec<Ref> = pool.into_iter().map(Object::into_ref).collect();
        let graph = build(&root, &pool, false);
        let written = pymarshal::write(&graph);
        let read = pymarshal::read(&written)
            .map_err(|e| TestCaseError::fail(format!("{e} reading {written:02x?}")))?;
        if let Some(diff) = pymarshal::first_difference(&graph, &read) {
            return Err(TestCaseError::fail(format!("read back differently: {diff}")));
        }
        prop_assert_eq!(pymarshal::write(&read), written);
        // Identity of shared objects is value-independent for the writer.
        prop_assert_eq!(pymarshal::write(&common::unshare_immortals(&graph)), pymarshal::write(&graph));
    }
}
