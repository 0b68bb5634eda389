//! Nesting, sharing and size at their limits: what CPython refuses is
//! refused, and nothing a read returns can exhaust the stack or the clock.

mod common;

use std::sync::Arc;

use pymarshal::{ErrorKind, MAX_DEPTH, Object, Ref, WriteError};

/// `depth` tuples nested in one another around `None`, as marshal bytes.
fn nested_tuples(depth: usize) -> Vec<u8> {
    let mut data = b")\x01".repeat(depth - 1);
    data.push(b'N');
    data
}

fn nested_graph(depth: usize) -> Ref {
    (1..depth).fold(Object::None.into_ref(), |inner, _| {
        Object::Tuple(vec![inner]).into_ref()
    })
}

#[test]
fn the_deepest_graph_cpython_reads_is_read_written_compared_and_shown() {
    let data = nested_tuples(MAX_DEPTH);
    let read = pymarshal::read(&data).unwrap();
    let written = pymarshal::write(&read);
    // The writer flags the root, as py_compile's references make CPython do.
    assert_eq!(written[0], data[0] | 0x80);
    assert!(
        written[1..] == data[1..],
        "nested tuples written back differently"
    );
    let again = pymarshal::read(&data).unwrap();
    assert_eq!(read, again);
    assert_eq!(pymarshal::first_difference(&read, &again), None);
    assert!(read.to_string().starts_with("(((("));
    drop((read, again));
}

#[test]
fn one_level_deeper_is_refused_by_both_sides() {
    let err = pymarshal::read(&nested_tuples(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::ValueError, "recursion limit exceeded")
    );
    assert_eq!(err.offset, 2 * MAX_DEPTH);
    assert_eq!(
        pymarshal::try_write(&nested_graph(MAX_DEPTH + 1)),
        Err(WriteError::TooDeep)
    );
    assert!(pymarshal::try_write(&nested_graph(MAX_DEPTH)).is_ok());
}

#[test]
#[should_panic(expected = "object too deeply nested to marshal")]
fn write_panics_where_dumps_raises() {
    pymarshal::write(&nested_graph(MAX_DEPTH + 1));
}

#[test]
fn a_dicts_terminator_counts_for_depth() {
    // A dict at the deepest level has no room for its TYPE_NULL.
    let dict = (1..MAX_DEPTH).fold(Object::Dict(vec![]).into_ref(), |inner, _| {
        Object::Tuple(vec![inner]).into_ref()
    });
    assert_eq!(pymarshal::try_write(&dict), Err(WriteError::TooDeep));
    let mut data = b")\x01".repeat(MAX_DEPTH - 1);
    data.extend(b"{0");
    let err = pymarshal::read(&data).unwrap_err();
    assert_eq!(err.message, "recursion limit exceeded");
}

/// A reference grafts an object read shallow into a deep place: CPython
/// accepts it (and could not dump it again), the reader refuses it, which
/// keeps every graph it returns at most MAX_DEPTH deep.
#[test]
fn references_cannot_graft_deeper_than_the_limit() {
    let graft = |outer: usize, inner: usize| {
        // (chain, (((... ref chain ...)))) with the chain flagged.
        let mut data = b")\x02".to_vec();
        data.extend(b"\xa9\x01".iter().chain(&b")\x01".repeat(inner - 2)));
        data.push(b'N');
        data.extend(b")\x01".repeat(outer - 2));
        data.extend(b"r\x00\x00\x00\x00");
        data
    };
    // The chain is `inner` deep below the root; the reference sits at depth
    // `outer`: together outer - 1 + inner - 1 levels.
    let ok = pymarshal::read(&graft(1000, 1001)).unwrap();
    assert!(pymarshal::try_write(&ok).is_ok());
    let err = pymarshal::read(&graft(1000, 1002)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ValueError);
    assert!(err.message.starts_with("recursion limit exceeded"), "{err}");
}

/// Each level a tuple of the level below and a reference to it: 2^60
/// paths through 61 objects. Reading, writing, comparing and checking
/// hashability stay linear.
#[test]
fn shared_graphs_cost_their_size_not_their_unfolded_size() {
    // Pre-order: the outermost tuple first, down to (None, None); then each
    // level's reference to the one below. `first` is the outermost tuple's
    // reference index.
    let chain = |first: u32, levels: u32| {
        let mut data = b"\xa9\x02".repeat(levels as usize + 1);
        data.extend(b"NN");
        for level in 1..=levels {
            data.push(b'r');
            data.extend((first + levels - (level - 1)).to_le_bytes());
        }
        data
    };
    let data = chain(0, 60);
    // The same as a set element and as a dict key (hashability check); the
    // flagged set or dict takes index 0. (A dict key is referenced once, so
    // the outermost tuple is not flagged there.)
    let mut in_set = b"\xbc\x01\x00\x00\x00".to_vec();
    in_set.extend(chain(1, 60));
    let mut in_dict = b"\xfb)\x02".to_vec();
    in_dict.extend(chain(1, 59));
    in_dict.extend(b"r\x01\x00\x00\x00N0");
    for (name, input) in [
        ("chain", &data),
        ("in a set", &in_set),
        ("as a dict key", &in_dict),
    ] {
        let read = pymarshal::read(input).unwrap();
        let written = pymarshal::write(&read);
        assert!(
            written == *input,
            "{name}: written back differently at byte {}",
            common::first_mismatch(&written, input)
        );
        let again = pymarshal::read(input).unwrap();
        assert!(!Arc::ptr_eq(&read, &again));
        assert!(read == again);
        assert!(pymarshal::first_difference(&read, &again).is_none());
        assert!(pymarshal::write(&common::unshare_immortals(&read)) == *input);
    }
}

/// Sizes and counts the input cannot hold are refused before allocating.
#[test]
fn forged_lengths_allocate_nothing() {
    for data in [
        &b"(\xff\xff\xff\x7f"[..],
        b"[\xff\xff\xff\x7fN",
        b"<\xff\xff\xff\x7fN",
        b"s\xff\xff\xff\x7f",
        b"u\xff\xff\xff\x7f",
        b"a\xff\xff\xff\x7f",
        b"l\xff\xff\xff\x7f\x01\x00",
        b"l\x01\x00\x00\x80\x01\x00",
    ] {
        let err = pymarshal::read(data).unwrap_err();
        assert_eq!(err.kind, ErrorKind::EofError, "{err}");
    }
}
