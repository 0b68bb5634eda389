//! `pyc-format`, `pycache-paths` and `pystr` against real CPython: every
//! recorded fixture, and every installed interpreter live.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use compileall_tests::foundation::{
    self, Case, FLAG_SETS, OptimizationArg, PycBytes, Query, TreeEntry,
};
use compileall_tests::hex::Hex;
use compileall_tests::oracle::{self, Answer};
use compileall_tests::pythons;
use pyc_format::{Magic, PythonVersion};
use pycache_paths::compileall::{self as rules, DestinationRewrite};
use pycache_paths::{CacheLayout, Optimization};
use serde_json::{Value, json};

/// What the answering interpreter said about itself.
struct Interpreter {
    version: PythonVersion,
    magic: Magic,
    cache_tag: String,
    optimize_flag: u32,
}

impl Interpreter {
    fn from_info(answer: &Answer) -> Interpreter {
        let Answer::Ok { ok } = answer else {
            panic!("info query failed: {answer:?}")
        };
        let magic_hex = ok["magic_hex"].as_str().unwrap();
        Interpreter {
            version: PythonVersion::parse(ok["version"].as_str().unwrap()).unwrap(),
            magic: Magic(Hex::decode(magic_hex).unwrap().try_into().unwrap()),
            cache_tag: ok["cache_tag"].as_str().unwrap().to_owned(),
            optimize_flag: ok["optimize_flag"].as_u64().unwrap() as u32,
        }
    }

    fn layout(&self, prefix: Option<&Hex>) -> CacheLayout {
        CacheLayout {
            version: self.version,
            cache_tag: Some(self.cache_tag.clone()),
            optimize_flag: self.optimize_flag,
            pycache_prefix: prefix.map(|p| PathBuf::from(p.as_os_str())),
        }
    }

    fn pyc(&self, data: &PycBytes) -> Vec<u8> {
        let magic = data.magic.as_ref().map_or(&self.magic.0[..], |m| &m.0);
        [magic, &data.rest.0].concat()
    }
}

fn ok(value: Value) -> Answer {
    Answer::Ok { ok: value }
}

fn exc(exc: &str, msg: impl ToString) -> Answer {
    Answer::Exc {
        exc: exc.into(),
        msg: msg.to_string(),
    }
}

fn hex_path(path: &Path) -> Value {
    Value::String(Hex::encode(path.as_os_str().as_bytes()))
}

fn path_of(hex: &Hex) -> &Path {
    Path::new(hex.as_os_str())
}

/// Our answer to `query`, in the oracle's encoding. `trees` holds the
/// trees named so far.
fn our_answer(
    query: &Query,
    py: &Interpreter,
    trees: &mut HashMap<String, Vec<TreeEntry>>,
) -> Answer {
    match query {
        Query::Tree { name, entries } => {
            trees.insert(name.clone(), entries.clone());
            ok(Value::Null)
        }
        Query::Info => {
            let info = py.version.info().expect("version in the table");
            ok(json!({
                "magic": info.magic,
                "magic_hex": Hex::encode(&info.magic_bytes().0),
                "cache_tag": info.cache_tag,
            }))
        }
        Query::SourceHash { data } => ok(json!(Hex::encode(&pyc_format::source_hash(
            py.magic,
            &data.bytes()
        )))),
        Query::Classify { data, name } => match pyc_format::classify(&py.pyc(data), py.magic, name)
        {
            Ok(flags) => ok(json!(flags.0)),
            Err(e) => exc(e.exception_type(), e),
        },
        Query::ValidateTimestamp {
            data,
            mtime,
            size,
            name,
        } => match pyc_format::validate_timestamp(&py.pyc(data), *mtime, *size, name) {
            Ok(()) => ok(Value::Null),
            Err(e) => exc(e.exception_type(), e),
        },
        Query::ValidateHash { data, hash, name } => {
            let hash: [u8; 8] = hash.0.clone().try_into().unwrap();
            match pyc_format::validate_hash(&py.pyc(data), hash, name) {
                Ok(()) => ok(Value::Null),
                Err(e) => exc(e.exception_type(), e),
            }
        }
        Query::CacheFromSource {
            path,
            optimization,
            prefix,
            cwd,
        } => {
            let text;
            let optimization = match optimization {
                None => Optimization::Interpreter,
                Some(OptimizationArg::Int(n)) if *n >= 0 => Optimization::Level(*n as u64),
                Some(OptimizationArg::Int(n)) => {
                    text = n.to_string();
                    Optimization::Text(OsStr::new(&text))
                }
                Some(OptimizationArg::Str(s)) => Optimization::Text(s.as_os_str()),
            };
            let cwd = cwd.as_ref().map_or(Path::new("/"), path_of);
            match py
                .layout(prefix.as_ref())
                .cache_from_source(path_of(path), optimization, cwd)
            {
                Ok(p) => ok(hex_path(&p)),
                Err(e) => exc(e.exception_type(), e),
            }
        }
        Query::SourceFromCache { path, prefix } => {
            match py.layout(prefix.as_ref()).source_from_cache(path_of(path)) {
                Ok(p) => ok(hex_path(&p)),
                Err(e) => exc(e.exception_type(), e),
            }
        }
        Query::Dfile {
            fullname,
            ddir,
            stripdir,
            prependdir,
        } => {
            let rewrite = DestinationRewrite {
                ddir: ddir.as_ref().map(|p| path_of(p).to_owned()),
                stripdir: stripdir.as_ref().map(|p| path_of(p).to_owned()),
                prependdir: prependdir.as_ref().map(|p| path_of(p).to_owned()),
            };
            match rules::dfile(path_of(fullname), &rewrite, py.version) {
                Ok(d) => {
                    let repr = |path: &Path| pystr::repr(path.as_os_str().as_bytes());
                    let stdout = match (d.stripdir_not_prefix, &rewrite.stripdir) {
                        (true, Some(stripdir)) => {
                            rules::Dfile::stripdir_warning(stripdir, path_of(fullname), repr) + "\n"
                        }
                        _ => String::new(),
                    };
                    ok(json!({
                        "dfile": d.path.as_deref().map(hex_path),
                        "stdout": stdout,
                    }))
                }
                Err(e) => exc("TypeError", e),
            }
        }
        Query::SymlinkLeaves {
            tree,
            fullname,
            limit,
        } => {
            let (_dir, root) = build_tree(&trees[tree]);
            let at_root = |hex: &Hex| root.join(OsStr::from_bytes(&hex.0.replace_root(&root)));
            match rules::symlink_leaves(&at_root(fullname), &at_root(limit), &root, py.version) {
                Ok(leaves) => ok(json!(leaves)),
                Err(e) => exc("RuntimeError", e),
            }
        }
        Query::Realpath { tree, path } => {
            let (_dir, root) = build_tree(&trees[tree]);
            let path = path.0.replace_root(&root);
            let resolved = rules::realpath(Path::new(OsStr::from_bytes(&path)), &root);
            let root_bytes = root.as_os_str().as_bytes();
            let resolved = resolved.as_os_str().as_bytes();
            if resolved == root_bytes {
                ok(json!("{root}"))
            } else if let Some(rest) = resolved
                .strip_prefix(root_bytes)
                .filter(|r| r.starts_with(b"/"))
            {
                ok(json!(Hex::encode(&[&b"{root}"[..], rest].concat())))
            } else {
                ok(json!(Hex::encode(resolved)))
            }
        }
        Query::StrRepr { s } => ok(json!(pystr::repr(&s.0))),
        Query::StrSort { items } => {
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| pystr::cmp(&items[a].0, &items[b].0));
            ok(json!(order))
        }
        Query::StrStrip { s } => ok(json!(Hex::encode(pystr::strip(&s.0)))),
        Query::StrIsalnum { s } => ok(json!(pystr::is_alnum(&s.0))),
        Query::StrIsprintable { code_points } => ok(json!(
            code_points
                .iter()
                .map(|&cp| pystr::is_printable(cp))
                .collect::<Vec<_>>()
        )),
        Query::BytesRepr { data } => ok(json!(pystr::bytes_repr(&data.0))),
        Query::ReSearch { pattern, path } => match compileall_cli::PyRegex::new(pattern) {
            Ok(rx) => ok(json!(rx.search(&path.0))),
            // Only whether it fails is modelled here; the binary reports
            // the interpreter's own exception text.
            Err(_) => exc("PatternError", pattern),
        },
        Query::StrEncode { s, codec, errors } => {
            let encoding = pystr::TextEncoding::from_python_names(codec, errors)
                .expect("the queries ask for implemented codecs only");
            match pystr::encode(&s.0, encoding) {
                Ok(bytes) => ok(json!(Hex::encode(&bytes))),
                // Only whether it fails is modelled: the binary never shows
                // the message.
                Err(_) => exc("UnicodeEncodeError", ""),
            }
        }
        Query::Int { s } => {
            match compileall_cli::parse_int(std::str::from_utf8(&s.0).expect("UTF-8 queries")) {
                Some(value) => ok(json!(value.to_string())),
                None => exc("ValueError", ""),
            }
        }
    }
}

trait ReplaceRoot {
    fn replace_root(&self, root: &Path) -> Vec<u8>;
}

impl ReplaceRoot for Vec<u8> {
    /// The oracle's `{root}` placeholder, filled in.
    fn replace_root(&self, root: &Path) -> Vec<u8> {
        let marker = b"{root}";
        match self.windows(marker.len()).position(|w| w == marker) {
            Some(i) => [
                &self[..i],
                root.as_os_str().as_bytes(),
                &self[i + marker.len()..],
            ]
            .concat(),
            None => self.clone(),
        }
    }
}

/// Builds `tree` in a fresh folder; returns the folder (removed on drop)
/// and its canonical path, which is what realpath reports.
fn build_tree(tree: &[TreeEntry]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    for entry in tree {
        let path = root.join(entry.path.as_os_str());
        match entry.kind.as_str() {
            "dir" => std::fs::create_dir_all(&path).unwrap(),
            "file" => drop(std::fs::File::create(&path).unwrap()),
            _ => {
                let target = entry.target.as_ref().unwrap().0.replace_root(&root);
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path).unwrap();
            }
        }
    }
    (dir, root)
}

/// Compares our answers with the interpreter's, returning every mismatch.
fn mismatches(cases: &[Case]) -> Vec<String> {
    let py = Interpreter::from_info(&cases[0].answer);
    let mut trees = HashMap::new();
    let mut out = Vec::new();
    for case in cases {
        let ours = our_answer(&case.query, &py, &mut trees);
        let theirs = match (&case.query, &case.answer) {
            // Only the fields we model of the info answer.
            (Query::Info, Answer::Ok { ok: v }) => ok(json!({
                "magic": v["magic"], "magic_hex": v["magic_hex"], "cache_tag": v["cache_tag"],
            })),
            (Query::ReSearch { pattern, .. }, Answer::Exc { .. }) => exc("PatternError", pattern),
            (Query::StrEncode { .. } | Query::Int { .. }, Answer::Exc { exc: name, .. }) => {
                exc(name, "")
            }
            // Python's int is unbounded; parse_int saturates at i64.
            (
                Query::Int { .. },
                Answer::Ok {
                    ok: Value::String(text),
                },
            ) => {
                let value: i128 = text.parse().expect("int() gives decimal text");
                ok(json!(
                    value
                        .clamp(-i128::from(i64::MAX), i128::from(i64::MAX))
                        .to_string()
                ))
            }
            (_, answer) => answer.clone(),
        };
        if ours != theirs {
            out.push(format!(
                "{:?}\n    cpython: {theirs:?}\n    ours:    {ours:?}",
                case.query
            ));
        }
    }
    out
}

fn assert_no_mismatches(what: &str, failures: Vec<String>) {
    if !failures.is_empty() {
        let shown: Vec<_> = failures.iter().take(40).cloned().collect();
        panic!(
            "{what}: {} mismatches, first {}:\n{}",
            failures.len(),
            shown.len(),
            shown.join("\n")
        );
    }
}

#[test]
fn every_supported_version_has_a_fixture() {
    for version in pythons::SUPPORTED {
        let fixture = foundation::load_fixture(version)
            .unwrap_or_else(|| panic!("no fixture for {version}: run `cargo xtask fixtures`"));
        assert_eq!(fixture.version, version);
        assert!(fixture.full_version.starts_with(&format!("{version}.")));
    }
}

#[test]
fn fixtures_ask_the_current_questions() {
    for version in pythons::SUPPORTED {
        let Some(fixture) = foundation::load_fixture(version) else {
            continue;
        };
        let recorded: Vec<Vec<&str>> = fixture
            .runs
            .iter()
            .map(|r| r.flags.iter().map(String::as_str).collect())
            .collect();
        let expected: Vec<Vec<&str>> = FLAG_SETS.iter().map(|f| f.to_vec()).collect();
        assert_eq!(
            recorded, expected,
            "{version}: flag sets changed; run `cargo xtask fixtures`"
        );
        for run in &fixture.runs {
            let flags: Vec<&str> = run.flags.iter().map(String::as_str).collect();
            let asked: Vec<&Query> = run.cases.iter().map(|c| &c.query).collect();
            let current = foundation::queries(&flags);
            assert!(
                asked.iter().copied().eq(current.iter()),
                "{version} {flags:?}: the question table changed; run `cargo xtask fixtures`"
            );
        }
    }
}

#[test]
fn crates_match_recorded_fixtures() {
    for version in pythons::SUPPORTED {
        let Some(fixture) = foundation::load_fixture(version) else {
            continue;
        };
        for run in &fixture.runs {
            let what = format!("fixture {} {:?}", fixture.full_version, run.flags);
            assert_no_mismatches(&what, mismatches(&run.cases));
        }
    }
}

fn live(version: &str) {
    let Some(python) = pythons::require(version, "live foundation check") else {
        return;
    };
    for flags in FLAG_SETS {
        let queries = foundation::queries(flags);
        let answers = oracle::ask(&python.executable, flags, &queries).unwrap();
        let cases: Vec<Case> = queries
            .into_iter()
            .zip(answers)
            .map(|(query, answer)| Case { query, answer })
            .collect();
        let what = format!("live {} {flags:?}", python.full_version);
        assert_no_mismatches(&what, mismatches(&cases));
    }
}

#[test]
fn live_cpython_3_11() {
    live("3.11");
}

#[test]
fn live_cpython_3_13() {
    live("3.13");
}

#[test]
fn live_cpython_3_14() {
    live("3.14");
}

#[test]
fn live_cpython_3_15() {
    live("3.15");
}
