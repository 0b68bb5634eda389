//! The scenarios, grouped by what they cover. Every expected value comes
//! from recording them with real CPython; nothing here says what the
//! outcome should be, except that a usage error is one.

use super::{BASE_MTIME, Bytes, Mode, Scenario, Setup, Tree};

fn bytes_list(args: &[&str]) -> Vec<Bytes> {
    args.iter().map(|a| Bytes::from(*a)).collect()
}

fn scenario(name: &str, group: &str, tree: &Tree, args: &[&str]) -> Scenario {
    Scenario::new(name, group, tree, args)
}

fn scenario_bytes(name: &str, group: &str, tree: &Tree, args: Vec<Bytes>) -> Scenario {
    Scenario {
        unordered: Scenario::uses_workers(&args),
        args,
        ..Scenario::new(name, group, tree, &[])
    }
}

impl Scenario {
    /// First compiles with `args` (real CPython, `-qq`).
    fn precompiled_with(self, args: &[&str]) -> Scenario {
        let args = ["-qq"].iter().chain(args).copied().collect::<Vec<_>>();
        self.setup(compile(&args))
    }

    /// First compiles with the scenario's own arguments (`-qq`, no `-f`).
    fn precompiled(self) -> Scenario {
        let args: Vec<String> = self
            .args
            .iter()
            .map(|a| a.lossy().into_owned())
            .filter(|a| !matches!(a.as_str(), "-q" | "-qq" | "-f"))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.precompiled_with(&args)
    }
}

fn compile(args: &[&str]) -> Setup {
    Setup::Compile {
        args: bytes_list(args),
    }
}

fn touch(path: &str, mtime: i64) -> Setup {
    Setup::Touch {
        path: path.into(),
        mtime,
        mtime_nsec: 0,
    }
}

fn write(path: &str, contents: &str, mtime: Option<i64>) -> Setup {
    Setup::Write {
        path: path.into(),
        contents: contents.into(),
        mtime,
    }
}

fn chmod(path: &str, mode: u32) -> Setup {
    Setup::Chmod {
        path: path.into(),
        mode: Mode(mode),
    }
}

fn symlink(path: &str, target: &str) -> Setup {
    Setup::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

fn mkdir(path: &str) -> Setup {
    Setup::Mkdir { path: path.into() }
}

/// A package with subpackages, a docstring and an assert (so `-O` and
/// `-OO` differ), a data file and a top-level module.
fn package() -> Tree {
    Tree::default()
        .file("pkg/__init__.py", "")
        .file("pkg/a.py", "x = 1\n")
        .file(
            "pkg/b.py",
            "\"\"\"Docs.\"\"\"\ndef f(x):\n    \"\"\"More.\"\"\"\n    assert x, 'x'\n    return x\n",
        )
        .file("pkg/data.txt", "not python\n")
        .file("pkg/sub/__init__.py", "from . import c\n")
        .file("pkg/sub/c.py", "import os\ny = os.sep\n")
        .file("pkg/sub/deep/d.py", "z = [i for i in range(3)]\n")
        .file("top.py", "print('top')\n")
}

/// Sources that do not compile, and some that only just do.
fn broken() -> Tree {
    Tree::default()
        .file("bad/ok.py", "x = 1\n")
        .file("bad/syntax.py", "def f(:\n")
        .file("bad/eof.py", "x = (1,\n")
        .file("bad/indent.py", "if 1:\n  x = 1\n    y = 2\n")
        .file("bad/tab.py", "if 1:\n        x = 1\n\ty = 2\n")
        .file("bad/nul.py", b"x = 1\x00\n")
        .file("bad/cookie.py", "# -*- coding: no-such-codec -*-\n")
        .file(
            "bad/bom_cookie.py",
            b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
        )
        .file("bad/undecodable.py", b"x = '\xff'\n")
        .file("bad/latin1.py", b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
        .file("bad/unicode_line.py", "caf\u{e9} = (\n")
        .file("bad/braces.py", "from __future__ import braces\n")
        .file("bad/return.py", "return 1\n")
        .file("bad/cr_only.py", "x = 1\ry = (\r")
        .file("bad/empty.py", "")
        .file("bad/warning.py", "x = '\\d'\n")
}

/// Sources that compile with `SyntaxWarning`s.
fn warnings() -> Tree {
    Tree::default().file("warn/ok.py", "x = 1\n").file(
        "warn/w.py",
        "x = '\\d'\ny = 1 is 1\ndef f():\n    try:\n        pass\n    finally:\n        return 1\n",
    )
}

/// File names that are hard to print, sort or encode.
fn names() -> Tree {
    Tree::default()
        .file("names/caf\u{e9}.py", "x = 1\n")
        .file(&b"names/n\xe9.py"[..], "x = 2\n")
        .file("names/it's.py", "x = 3\n")
        .file("names/say \"hi\".py", "x = 4\n")
        .file("names/it's \"both\".py", "x = 5\n")
        .file("names/two.dots.py", "x = 6\n")
        .file("names/\u{4e2d}\u{6587}.py", "x = 7\n")
        .file("names/tab\there.py", "x = 8\n")
        .file("names/new\nline.py", "x = 9\n")
        .file("names/nb\u{a0}sp.py", "x = 10\n")
        .file("names/zero\u{200b}width.py", "x = 11\n")
        .file("names/esc\u{1b}.py", "x = 12\n")
        .file("names/back\\slash.py", "x = 13\n")
        .file("names/.py", "x = 14\n")
        .file("names/.hidden.py", "x = 15\n")
        .file("names/x.py.py", "x = 16\n")
        .file("names/UPPER.PY", "x = 17\n")
        .file("names/w.pyw", "x = 18\n")
        .file("names/noext", "x = 19\n")
        .file("names/stale.pyc", "not a pyc\n")
}

/// Names whose order differs between code points (Python's `sorted`, with
/// undecodable bytes as U+DC80..U+DCFF) and bytes.
fn sort_order() -> Tree {
    Tree::default()
        .file(&b"order/\xf5.py"[..], "a = 1\n")
        .file("order/\u{ff01}.py", "b = 2\n")
        .file(&b"order/\xc3(.py"[..], "c = 3\n")
        .file("order/\u{e9}.py", "d = 4\n")
        .file("order/Z.py", "e = 5\n")
        .file("order/_.py", "f = 6\n")
        .file("order/a.py", "g = 7\n")
        .file("order/\u{1f600}.py", "h = 8\n")
}

/// Symlinks to files and folders inside and outside the tree, relative
/// and absolute, dangling, looping; a folder and a FIFO named `*.py`.
fn links() -> Tree {
    Tree::default()
        .file("links/real.py", "x = 1\n")
        .file("../o/o.py", "y = 2\n")
        .file("../o/sub/s.py", "z = 3\n")
        .file("elsewhere/e.py", "w = 4\n")
        .symlink("links/to_real.py", "real.py")
        .symlink("links/to_outside.py", "../../o/o.py")
        .symlink("links/abs_inside.py", "{ROOT}/elsewhere/e.py")
        .symlink("links/abs_outside.py", "{OUT}/o.py")
        .symlink("links/dir_outside", "{OUT}/sub")
        .symlink("links/dir_inside", "../elsewhere")
        .symlink("links/dangling.py", "nowhere.py")
        .symlink("links/loop.py", "loop.py")
        .symlink("links/to_data", "real.py")
        .dir("links/dir.py")
        .file("links/dir.py/inner.py", "v = 5\n")
        .fifo("links/fifo.py")
}

/// Files whose mtimes stress the pyc header: rounding of the float
/// `st_mtime`, before 1970, after 2106 (the header keeps 32 bits).
fn times() -> Tree {
    Tree::default()
        .file_at("times/rounds_up.py", "a = 1\n", BASE_MTIME, 999_999_999)
        .file_at("times/no_rounding.py", "b = 2\n", BASE_MTIME, 999_999_800)
        .file_at("times/negative.py", "c = 3\n", -6, 500_000_000)
        .file_at("times/epoch.py", "d = 4\n", 0, 0)
        .file_at("times/after_2106.py", "e = 5\n", (1 << 32) + 7, 0)
}

/// Sources with unusual permission bits (pyc modes derive from them).
fn modes() -> Tree {
    Tree::default()
        .file("modes/m600.py", "a = 1\n")
        .mode(0o600)
        .file("modes/m640.py", "b = 2\n")
        .mode(0o640)
        .file("modes/m755.py", "c = 3\n")
        .mode(0o755)
        .file("modes/m444.py", "d = 4\n")
        .mode(0o444)
        .file("modes/m000.py", "e = 5\n")
        .mode(0o000)
        .file("modes/m4755.py", "f = 6\n")
        .mode(0o4755)
        .file("modes/m666.py", "g = 7\n")
        .mode(0o666)
        .dir("modes/private")
        .file("modes/private/p.py", "h = 8\n")
        .dir("modes/private/sub")
        .mode(0o700)
}

/// `-i` lists: blank lines, surrounding (Unicode) whitespace, CRLF, a lone
/// CR (a line break in text mode), a form feed (not one), no final newline.
const LIST: &str = "pkg/a.py\n\n  pkg/sub  \r\nmissing.py\rtop.py\n\t\u{a0}pkg/data.txt\u{3000}\npkg/a.py\u{c}x\npkg/sub/c.py";

fn nested() -> Tree {
    Tree::default()
        .file("n1/m1.py", "a = 1\n")
        .file("n1/n2/__init__.py", "")
        .file("n1/n2/m2.py", "b = 2\n")
        .file("n1/n2/n3/m3.py", "c = 3\n")
        .file("n1/n2/n3/n4/m4.py", "d = 4\n")
}

fn no_args_tree() -> Tree {
    Tree::default()
        .file("a.py", "a = 1\n")
        .file("b.py", "def (:\n")
        .file("c.py", "c = 3\n")
        .file("sub/d.py", "d = 4\n")
        .file("one/one.py", "x = 1\n")
        .file("two/bad.py", "x = (\n")
        .file("two/fine.py", "y = 2\n")
        .file("three/three.py", "z = 3\n")
}

const PYTHONPATH: &str = "{ROOT}/one:{ROOT}/missing:{ROOT}/two:{ROOT}/three";

/// Every scenario, in a fixed order.
pub fn all() -> Vec<Scenario> {
    let pkg = package();
    let bad = broken();
    let pkg_bad = pkg.clone().and(&bad);
    let cfile = "pkg/sub/__pycache__/c.{TAG}.pyc";
    let mut all = Vec::new();

    // What is walked, and how names are printed.
    let g = "walk";
    all.extend([
        scenario("dir", g, &pkg, &["pkg"]),
        scenario("dir_dot", g, &pkg, &["."]),
        scenario("dir_trailing_slash", g, &pkg, &["pkg/"]),
        scenario("dir_double_slash", g, &pkg, &["pkg//"]),
        scenario("dir_dotdot", g, &pkg, &["pkg/sub/.."]),
        scenario("dir_absolute", g, &pkg, &["{ROOT}/pkg"]),
        scenario("several_dests", g, &pkg, &["pkg/sub", "top.py", "pkg"]),
        scenario("same_dest_twice", g, &pkg, &["pkg", "pkg"]),
        scenario(
            "files_given",
            g,
            &pkg,
            &["pkg/a.py", "top.py", "pkg/data.txt"],
        ),
        scenario("missing_dests", g, &pkg, &["nope", "nope.py", "pkg/a.py"]),
        scenario(
            "options_after_dests",
            g,
            &pkg,
            &["pkg", "-q", "top.py", "-l"],
        )
        .usage(&["top.py"]),
        scenario(
            "options_around_dests",
            g,
            &pkg,
            &["-q", "pkg", "top.py", "-l"],
        ),
        scenario("flag_cluster_with_value", g, &pkg, &["-lqr", "1", "pkg"]),
        scenario(
            "separator_within_dests",
            g,
            &pkg,
            &["-q", "pkg", "--", "top.py"],
        ),
        scenario(
            "separator_after_option",
            g,
            &pkg,
            &["pkg", "-q", "--", "top.py"],
        )
        .usage(&["top.py"]),
        scenario("negative_number_dest", g, &pkg, &["-q", "pkg", "-l", "-5"]).usage(&["-5"]),
        scenario("empty_dir", g, &Tree::default().dir("empty"), &["empty"]),
        scenario(
            "dash_name",
            g,
            &Tree::default().file("-dash.py", "x = 1\n"),
            &["--", "-dash.py"],
        ),
    ]);

    let g = "recursion";
    all.extend([
        scenario("l", g, &pkg, &["-l", "pkg"]),
        scenario("l_dot_nested", g, &nested(), &["-l", "."]),
        scenario("r_0", g, &nested(), &["-r", "0", "n1"]),
        scenario("r_1", g, &nested(), &["-r", "1", "n1"]),
        scenario("r_2", g, &nested(), &["-r", "2", "n1"]),
        scenario("r_negative", g, &nested(), &["-r", "-1", "n1"]),
        scenario("r_overrides_l", g, &nested(), &["-l", "-r", "2", "n1"]),
        scenario(
            "r_overrides_later_l",
            g,
            &nested(),
            &["-r", "1", "-l", "n1"],
        ),
        scenario(
            "r_huge",
            g,
            &nested(),
            &["-r", "99999999999999999999", "n1"],
        ),
        scenario(
            "int_forms",
            g,
            &nested(),
            &["-r", " +0_1 ", "-o", "\u{ff12}", "n1"],
        ),
        scenario("combined_short_flags", g, &nested(), &["-ql", "-r1", "n1"]),
    ]);

    let g = "up-to-date";
    let precompiled = |name: &str, args: &[&str]| scenario(name, g, &pkg, args).precompiled();
    all.extend([
        precompiled("up_to_date", &["pkg"]),
        precompiled("force", &["-f", "pkg"]),
        precompiled("stale_source", &["pkg"]).setup(touch("pkg/a.py", BASE_MTIME + 3600)),
        precompiled("same_mtime_other_size", &["pkg"]).setup(write(
            "pkg/a.py",
            "x = 'longer now'\n",
            None,
        )),
        precompiled("pyc_cut_to_header", &["pkg/sub"]).setup(Setup::Truncate {
            path: cfile.into(),
            len: 12,
        }),
        precompiled("pyc_cut_short", &["pkg/sub"]).setup(Setup::Truncate {
            path: cfile.into(),
            len: 8,
        }),
        precompiled("pyc_other_magic", &["pkg/sub"]).setup(write(cfile, "0123456789abcdef", None)),
        scenario(
            "one_level_missing",
            g,
            &pkg,
            &["-o", "0", "-o", "1", "pkg/sub"],
        )
        .precompiled_with(&["-o", "0", "pkg/sub"]),
        precompiled(
            "hash_pycs_never_up_to_date",
            &["--invalidation-mode", "checked-hash", "pkg"],
        ),
        precompiled("legacy_up_to_date", &["-b", "pkg/sub"]),
        scenario("pyc_mode_reset", g, &pkg, &["-f", "pkg/sub"])
            .precompiled()
            .setup(chmod(cfile, 0o600)),
        scenario(
            "hardlinks_broken_by_rewrite",
            g,
            &pkg,
            &["-f", "-o", "0", "-o", "1", "pkg"],
        )
        .precompiled_with(&["-o", "0", "-o", "1", "--hardlink-dupes", "pkg"]),
        scenario("mtime_edges", g, &times(), &["times"]),
        scenario("mtime_edges_up_to_date", g, &times(), &["times"]).precompiled(),
    ]);

    let g = "quiet";
    all.extend([
        scenario("q", g, &pkg_bad, &["-q", "pkg", "bad"]),
        scenario("qq", g, &pkg_bad, &["-qq", "pkg", "bad"]),
        scenario("q_twice", g, &pkg_bad, &["-q", "-q", "bad"]),
        scenario("q_missing_dest", g, &pkg, &["-q", "nope"]),
    ]);

    let g = "legacy";
    all.extend([
        scenario("b", g, &pkg, &["-b", "pkg"]),
        scenario("b_levels", g, &pkg, &["-b", "-o", "0", "-o", "2", "pkg"]),
    ]);

    let g = "ddir";
    all.extend([
        scenario("d_dir", g, &pkg, &["-d", "/installed", "pkg"]),
        scenario("d_relative", g, &pkg, &["-d", "rel", "pkg/sub"]),
        scenario(
            "d_file",
            g,
            &pkg,
            &["-d", "/installed", "pkg/a.py", "top.py"],
        ),
        scenario("d_dir_trailing_slash", g, &pkg, &["-d", "/x", "pkg/"]),
        scenario("d_dot", g, &pkg, &["-d", "/x", "."]),
        scenario("d_absolute_dir", g, &pkg, &["-d", "/x", "{ROOT}/pkg/sub"]),
        scenario("d_empty", g, &pkg, &["-d", "", "pkg/sub"]),
        scenario("d_errors", g, &bad, &["-d", "/x", "bad"]),
        scenario("d_with_s", g, &pkg, &["-d", "a", "-s", "b", "pkg"]).usage(&["-d", "-s"]),
        scenario("d_with_p", g, &pkg, &["-d", "a", "-p", "b", "pkg"]).usage(&["-d", "-p"]),
    ]);

    let g = "stripdir";
    all.extend([
        scenario("s_p", g, &pkg, &["-s", "pkg", "-p", "/usr/lib", "pkg"]),
        scenario(
            "s_p_absolute",
            g,
            &pkg,
            &["-s", "{ROOT}", "-p", "/", "{ROOT}/pkg"],
        ),
        scenario("s_trailing_slash", g, &pkg, &["-s", "pkg/", "pkg/sub"]),
        scenario("s_not_prefix", g, &pkg, &["-s", "elsewhere", "pkg/sub"]),
        scenario(
            "s_not_prefix_q",
            g,
            &pkg,
            &["-q", "-s", "elsewhere", "pkg/sub"],
        ),
        scenario(
            "s_not_prefix_qq",
            g,
            &pkg,
            &["-qq", "-s", "elsewhere", "pkg/sub"],
        ),
        scenario(
            "s_partial_name",
            g,
            &pkg,
            &["-s", "pk", "-p", "/x", "pkg/sub"],
        ),
        scenario("s_middle_component", g, &pkg, &["-s", "zz/sub", "pkg/sub"]),
        scenario("s_whole_file", g, &pkg, &["-s", "pkg/a.py", "pkg/a.py"]),
        scenario("s_file", g, &pkg, &["-s", "pkg", "-p", "/lib", "pkg/a.py"]),
        scenario(
            "s_empty",
            g,
            &pkg,
            &["-s", "", "-p", "/p", "{ROOT}/pkg/sub"],
        ),
        scenario("p", g, &pkg, &["-p", "/opt", "pkg/sub"]),
        scenario(
            "p_absolute_dest",
            g,
            &pkg,
            &["-p", "/opt", "{ROOT}/pkg/sub"],
        ),
        scenario("s_p_errors", g, &bad, &["-s", "bad", "-p", "/src", "bad"]),
    ]);

    let g = "regex";
    all.extend([
        scenario("x", g, &pkg, &["-x", "sub", "pkg"]),
        scenario("x_dollar", g, &pkg, &["-x", "a\\.py$", "pkg"]),
        scenario("x_lookahead", g, &pkg, &["-x", "pkg/(?!sub)", "pkg"]),
        scenario("x_lookbehind", g, &pkg, &["-x", "(?<=sub/)c", "pkg"]),
        scenario("x_backreference", g, &pkg, &["-x", "(\\w)\\1", "pkg"]),
        scenario(
            "x_unicode_ignorecase",
            g,
            &names(),
            &["-x", "(?i)/CAF\\w\\.PY$", "names"],
        ),
        scenario("x_last_wins", g, &pkg, &["-x", "a", "-x", "c\\.py", "pkg"]),
        scenario(
            "x_files_given",
            g,
            &pkg,
            &["-x", "top", "top.py", "pkg/a.py"],
        ),
        scenario("x_invalid", g, &pkg, &["-x", "(", "pkg"]),
        scenario("x_empty", g, &pkg, &["-x", "", "top.py"]),
        scenario("x_empty_nothing_to_match", g, &pkg, &["-x", "", "nope"]),
    ]);

    let g = "list";
    let listed = pkg.clone().file("list.txt", LIST);
    all.extend([
        scenario("i", g, &listed, &["-i", "list.txt"]),
        scenario("i_stdin", g, &listed, &["-i", "-"]).stdin(LIST),
        scenario("i_and_dests", g, &listed, &["-i", "list.txt", "top.py"]),
        scenario("i_missing", g, &pkg, &["-i", "no-such-list", "top.py"]),
        scenario("i_missing_qq", g, &pkg, &["-qq", "-i", "no-such-list"]),
        scenario("i_directory", g, &pkg, &["-i", "pkg"]),
        scenario("i_empty_name", g, &pkg, &["-i", "", "top.py"]),
        scenario(
            "i_not_utf8",
            g,
            &names().file("list.txt", b"names/n\xe9.py\n"),
            &["-i", "list.txt"],
        ),
        scenario("i_stdin_not_utf8", g, &names(), &["-i", "-"]).stdin(b"names/n\xe9.py\n"),
    ]);

    let g = "workers";
    all.extend([
        scenario("j0", g, &pkg, &["-j", "0", "pkg"]),
        scenario("j2", g, &pkg_bad, &["-j", "2", "pkg", "bad"]),
        scenario("j2_warnings", g, &warnings(), &["-j2", "warn"]),
        scenario(
            "j2_quiet_long_form",
            g,
            &pkg_bad,
            &["-q", "--workers=2", "bad"],
        ),
        scenario("j_negative_dir", g, &pkg, &["-j", "-1", "top.py", "pkg"]),
        scenario("j_negative_file", g, &pkg, &["-j", "-1", "top.py"]),
    ]);

    let g = "optimize";
    all.extend([
        scenario(
            "o_levels",
            g,
            &pkg,
            &["-o", "0", "-o", "1", "-o", "2", "pkg"],
        ),
        scenario("o_repeated", g, &pkg, &["-o", "1", "-o", "1", "pkg"]),
        scenario(
            "o_invalid_levels",
            g,
            &pkg,
            &["-o", "3", "-o", "-2", "pkg/a.py"],
        ),
        scenario(
            "o_interpreter_and_0",
            g,
            &pkg,
            &["-o", "-1", "-o", "0", "pkg/sub"],
        ),
        scenario("pythonoptimize", g, &pkg, &["pkg"]).env("PYTHONOPTIMIZE", "1"),
        scenario(
            "pythonoptimize_2_levels",
            g,
            &pkg,
            &["-o", "-1", "-o", "1", "pkg"],
        )
        .env("PYTHONOPTIMIZE", "2"),
        scenario("pythonoptimize_junk", g, &pkg, &["pkg/b.py"]).env("PYTHONOPTIMIZE", "abc"),
    ]);

    let g = "hardlink";
    let three = ["-o", "0", "-o", "1", "-o", "2"];
    all.extend([
        scenario(
            "hardlink",
            g,
            &pkg,
            &[&three[..], &["--hardlink-dupes", "pkg"]].concat(),
        ),
        scenario(
            "hardlink_abbreviated",
            g,
            &pkg,
            &["--hard", "-o", "0", "-o", "2", "pkg"],
        ),
        scenario(
            "hardlink_one_level",
            g,
            &pkg,
            &["-o", "1", "--hardlink-dupes", "pkg"],
        )
        .usage(&["--hardlink-dupes", "optimization level"]),
        scenario(
            "hardlink_default_level",
            g,
            &pkg,
            &["--hardlink-dupes", "pkg"],
        )
        .usage(&["--hardlink-dupes", "optimization level"]),
        scenario(
            "hardlink_same_level_twice",
            g,
            &pkg,
            &["-o", "1", "-o", "1", "--hardlink-dupes", "pkg"],
        ),
        scenario(
            "hardlink_legacy",
            g,
            &pkg,
            &["-b", "-o", "0", "-o", "1", "--hardlink-dupes", "pkg/sub"],
        ),
        scenario(
            "hardlink_interpreter_level_alias",
            g,
            &pkg,
            &["-o", "-1", "-o", "1", "--hardlink-dupes", "pkg/sub"],
        )
        .env("PYTHONOPTIMIZE", "1"),
        scenario(
            "hardlink_up_to_date",
            g,
            &pkg,
            &[&three[..], &["--hardlink-dupes", "pkg"]].concat(),
        )
        .precompiled(),
    ]);

    let g = "invalidation";
    let mode =
        |name: &str, value: &str| scenario(name, g, &pkg, &["--invalidation-mode", value, "pkg"]);
    all.extend([
        mode("mode_timestamp", "timestamp"),
        mode("mode_checked_hash", "checked-hash"),
        mode("mode_unchecked_hash", "unchecked-hash"),
        scenario(
            "mode_abbreviated",
            g,
            &pkg,
            &["--inval", "unchecked-hash", "pkg/sub"],
        ),
        scenario("source_date_epoch", g, &pkg, &["pkg"]).env("SOURCE_DATE_EPOCH", "1700000000"),
        scenario("source_date_epoch_empty", g, &pkg, &["pkg"]).env("SOURCE_DATE_EPOCH", ""),
        scenario("source_date_epoch_junk", g, &pkg, &["pkg/sub"]).env("SOURCE_DATE_EPOCH", "x"),
        mode("source_date_epoch_overridden", "timestamp").env("SOURCE_DATE_EPOCH", "1"),
    ]);

    // The interpreter's own imports would cache under the prefix too, at
    // machine-specific paths: PYTHONDONTWRITEBYTECODE keeps them out.
    let g = "environment";
    all.extend([
        scenario("pycache_prefix_outside", g, &pkg, &["pkg"])
            .env("PYTHONPYCACHEPREFIX", "{OUT}/cache")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        scenario("pycache_prefix_relative", g, &pkg, &["pkg/sub"])
            .env("PYTHONPYCACHEPREFIX", "rel_cache")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        scenario("pycache_prefix_legacy", g, &pkg, &["-b", "pkg/sub"])
            .env("PYTHONPYCACHEPREFIX", "{OUT}/cache")
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        scenario("dont_write_bytecode", g, &pkg, &["pkg/sub"]).env("PYTHONDONTWRITEBYTECODE", "1"),
        scenario("warnings", g, &warnings(), &["warn"]),
        scenario(
            "warnings_per_level",
            g,
            &warnings(),
            &["-o", "0", "-o", "1", "warn"],
        ),
        scenario(
            "warnings_ddir",
            g,
            &warnings(),
            &["-q", "-d", "/dest", "warn"],
        ),
        scenario("warnings_ignored", g, &warnings(), &["warn"]).env("PYTHONWARNINGS", "ignore"),
        scenario("warnings_as_errors", g, &warnings(), &["warn"]).env("PYTHONWARNINGS", "error"),
        scenario(
            "ioencoding_ascii",
            g,
            &names().and(&bad),
            &["names", "bad/unicode_line.py"],
        )
        .env("PYTHONIOENCODING", "ascii:backslashreplace"),
    ]);

    let g = "sources";
    let big: String = (0..600).map(|i| format!("v{i} = {i}\n")).collect();
    all.extend([
        scenario("bad_sources", g, &bad, &["bad"]),
        scenario("bad_sources_q", g, &bad, &["-q", "bad"]),
        scenario(
            "bad_sources_optimized",
            g,
            &bad,
            &["-o", "1", "-o", "2", "bad"],
        ),
        scenario(
            "large_source",
            g,
            &Tree::default().file("big.py", big),
            &["big.py"],
        ),
        scenario("source_modes", g, &modes(), &["modes"]),
        scenario("umask_077", g, &modes(), &["modes"]).umask(0o077),
        scenario("umask_000", g, &modes(), &["modes"]).umask(0),
    ]);

    let g = "names";
    all.extend([
        scenario("names", g, &names(), &["names"]),
        scenario(
            "names_errors_q",
            g,
            &names()
                .file("names/\u{e9}rr.py", "def (:\n")
                .file(&b"names/bad\xff.py"[..], "x = (\n"),
            &["-q", "names"],
        ),
        scenario("sort_order", g, &sort_order(), &["order"]),
        scenario_bytes(
            "names_given",
            g,
            &names(),
            vec![
                Bytes::from(&b"names/n\xe9.py"[..]),
                Bytes::from("names/it's \"both\".py"),
                Bytes::from("names/.py"),
                Bytes::from(&b"names/missing\xff"[..]),
            ],
        ),
    ]);

    let g = "links";
    let links = links();
    all.extend([
        scenario("links", g, &links, &["links"]),
        scenario("links_e_inside", g, &links, &["-e", "links", "links"]),
        scenario("links_e_root", g, &links, &["-e", ".", "links"]),
        scenario("links_e_absolute", g, &links, &["-e", "{ROOT}", "links"]),
        scenario("links_e_outside", g, &links, &["-e", "{OUT}", "links"]),
        scenario("links_e_empty", g, &links, &["-e", "", "links"]),
        scenario(
            "links_given",
            g,
            &links,
            &[
                "links/dir_outside",
                "links/to_outside.py",
                "links/dangling.py",
                "links/loop.py",
                "links/fifo.py",
                "links/dir.py",
            ],
        ),
        scenario(
            "links_given_e",
            g,
            &links,
            &[
                "-e",
                "links",
                "links/to_outside.py",
                "links/to_real.py",
                "links/dir_outside",
            ],
        ),
    ]);

    let g = "cache-files";
    let plain = Tree::default().file("plain/m.py", "m = 1\n");
    all.extend([
        scenario("cfile_symlink", g, &pkg, &["pkg/sub"])
            .setup(mkdir("pkg/sub/__pycache__"))
            .setup(symlink(cfile, "../../a.py")),
        scenario("cfile_symlink_to_valid_pyc", g, &pkg, &["pkg/sub"])
            .precompiled()
            .setup(Setup::Rename {
                path: cfile.into(),
                to: "pkg/sub/__pycache__/saved.pyc".into(),
            })
            .setup(symlink(cfile, "saved.pyc")),
        scenario(
            "cfile_symlink_to_valid_pyc_forced",
            g,
            &pkg,
            &["-f", "pkg/sub"],
        )
        .precompiled()
        .setup(Setup::Rename {
            path: cfile.into(),
            to: "pkg/sub/__pycache__/saved.pyc".into(),
        })
        .setup(symlink(cfile, "saved.pyc")),
        scenario("cfile_directory", g, &pkg, &["pkg/sub"]).setup(mkdir(cfile)),
        scenario("cfile_fifo_forced", g, &pkg, &["-f", "pkg/sub"])
            .setup(mkdir("pkg/sub/__pycache__"))
            .setup(Setup::Fifo { path: cfile.into() }),
        scenario("legacy_cfile_directory", g, &pkg, &["-b", "pkg/sub"])
            .setup(mkdir("pkg/sub/c.pyc")),
        scenario(
            "pycache_is_a_file",
            g,
            &plain.clone().file("plain/__pycache__", "x"),
            &["plain"],
        ),
        scenario(
            "pycache_symlink_to_dir",
            g,
            &plain
                .clone()
                .dir("../o/cache")
                .symlink("plain/__pycache__", "../../o/cache"),
            &["plain"],
        ),
        scenario(
            "pycache_dangling_symlink",
            g,
            &plain.clone().symlink("plain/__pycache__", "nowhere"),
            &["plain"],
        ),
    ]);

    // Permission bits only stop a run without root's permission override.
    let g = "permissions";
    all.extend([
        scenario(
            "unprivileged_unreadable_source",
            g,
            &pkg.clone().file("pkg/secret.py", "s = 1\n").mode(0o000),
            &["pkg"],
        )
        .unprivileged(),
        scenario(
            "unprivileged_unwritable_pycache",
            g,
            &plain.clone().dir("plain/__pycache__").mode(0o555),
            &["plain"],
        )
        .unprivileged(),
        scenario(
            "unprivileged_unwritable_dir",
            g,
            &Tree::default()
                .file("ro/m.py", "m = 1\n")
                .dir("ro")
                .mode(0o555),
            &["ro"],
        )
        .unprivileged(),
        scenario(
            "unprivileged_unlistable_dir",
            g,
            &pkg.clone().dir("pkg/locked").mode(0o000),
            &["pkg", "pkg/locked"],
        )
        .unprivileged(),
        scenario(
            "unprivileged_dir_without_search",
            g,
            &Tree::default()
                .file("rd/m.py", "m = 1\n")
                .file("rd/sub/n.py", "n = 1\n")
                .dir("rd")
                .mode(0o555)
                .dir("rd/sub")
                .mode(0o444),
            &["rd", "rd/sub/n.py"],
        )
        .unprivileged(),
        scenario("unprivileged_unreadable_pyc", g, &pkg, &["pkg/sub"])
            .precompiled()
            .setup(chmod(cfile, 0o000))
            .unprivileged(),
        scenario("unprivileged_read_only_sources", g, &modes(), &["modes"]).unprivileged(),
        scenario(
            "unprivileged_unreadable_list",
            g,
            &pkg.clone().file("list.txt", "top.py\n").mode(0o000),
            &["-i", "list.txt", "pkg/a.py"],
        )
        .unprivileged(),
    ]);

    // Without destinations compileall compiles sys.path (maxlevels 0,
    // ignoring most options). Each scenario stops at a failing folder
    // before the interpreter's own folders, whose state is machine-specific
    // (and which must not be written to).
    let g = "sys.path";
    let tree = no_args_tree();
    all.extend([
        scenario("no_dests_cwd", g, &tree, &[]),
        scenario("no_dests_pythonpath", g, &tree, &[])
            .env("PYTHONSAFEPATH", "1")
            .env("PYTHONPATH", PYTHONPATH),
        scenario(
            "no_dests_ignores_options",
            g,
            &tree,
            &[
                "-x", "one", "-o", "2", "-j", "-1", "-r", "5", "-d", "/dest", "-e", "x",
            ],
        )
        .env("PYTHONSAFEPATH", "1")
        .env("PYTHONPATH", PYTHONPATH),
        scenario("no_dests_quiet_legacy", g, &tree, &["-q", "-b"])
            .env("PYTHONSAFEPATH", "1")
            .env("PYTHONPATH", PYTHONPATH),
        scenario("no_dests_force", g, &tree, &["-f"])
            .env("PYTHONSAFEPATH", "1")
            .env("PYTHONPATH", PYTHONPATH)
            .precompiled_with(&[]),
    ]);

    let g = "usage";
    all.extend([
        scenario("usage_unknown_option", g, &pkg, &["--frobnicate", "pkg"])
            .usage(&["--frobnicate"]),
        scenario("usage_ambiguous_abbreviation", g, &pkg, &["--h", "pkg"]).usage(&["--h"]),
        scenario("usage_bad_r", g, &pkg, &["-r", "x", "pkg"]).usage(&["-r"]),
        scenario("usage_bad_j", g, &pkg, &["-j", "2.0", "pkg"]).usage(&["-j", "--workers"]),
        scenario("usage_bad_o", g, &pkg, &["-o", "1.5", "pkg"]).usage(&["-o"]),
        scenario(
            "usage_bad_mode",
            g,
            &pkg,
            &["--invalidation-mode", "never", "pkg"],
        )
        .usage(&["--invalidation-mode"]),
        scenario("usage_missing_value", g, &pkg, &["pkg", "-d"]).usage(&["-d"]),
    ]);

    all
}
