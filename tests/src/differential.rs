//! Running `python -m compileall` and our `compileall` on identical copies
//! of a tree, and comparing everything they did: exit status, stdout,
//! stderr, and every file left behind.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

/// One entry of a tree to build.
#[derive(Clone, Debug)]
pub enum Node {
    /// A folder.
    Dir,
    /// A file with these bytes.
    File(Vec<u8>),
    /// A symbolic link to this target.
    Symlink(PathBuf),
    /// A named pipe.
    Fifo,
}

/// A tree: paths relative to its root, created in order.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    entries: Vec<(PathBuf, Node, Option<u32>)>,
}

/// Every file gets this mtime, so timestamp pycs are reproducible.
pub const MTIME: u64 = 1_700_000_000;

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// Adds a file (parent folders are created as needed).
    pub fn file(mut self, path: impl AsRef<OsStr>, contents: impl Into<Vec<u8>>) -> Tree {
        self.entries.push((
            PathBuf::from(path.as_ref()),
            Node::File(contents.into()),
            None,
        ));
        self
    }

    /// Adds a folder.
    pub fn dir(mut self, path: impl AsRef<OsStr>) -> Tree {
        self.entries
            .push((PathBuf::from(path.as_ref()), Node::Dir, None));
        self
    }

    /// Adds a symbolic link.
    pub fn symlink(mut self, path: impl AsRef<OsStr>, target: impl AsRef<OsStr>) -> Tree {
        let target = PathBuf::from(target.as_ref());
        self.entries
            .push((PathBuf::from(path.as_ref()), Node::Symlink(target), None));
        self
    }

    /// Adds a named pipe.
    pub fn fifo(mut self, path: impl AsRef<OsStr>) -> Tree {
        self.entries
            .push((PathBuf::from(path.as_ref()), Node::Fifo, None));
        self
    }

    /// Gives the last added entry these permission bits.
    pub fn mode(mut self, mode: u32) -> Tree {
        if let Some(last) = self.entries.last_mut() {
            last.2 = Some(mode);
        }
        self
    }

    /// Creates the tree under `root`.
    pub fn build(&self, root: &Path) {
        std::fs::create_dir_all(root).unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME);
        for (path, node, _) in &self.entries {
            let full = root.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            match node {
                Node::Dir => std::fs::create_dir_all(&full).unwrap(),
                Node::File(bytes) => {
                    std::fs::write(&full, bytes).unwrap();
                    let file = std::fs::File::options().write(true).open(&full).unwrap();
                    file.set_modified(mtime).unwrap();
                }
                Node::Symlink(target) => std::os::unix::fs::symlink(target, &full).unwrap(),
                Node::Fifo => {
                    let c_path = std::ffi::CString::new(full.as_os_str().as_bytes()).unwrap();
                    // SAFETY: a valid NUL-terminated path.
                    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
                }
            }
        }
        // Modes last: a read-only folder must not stop the tree's creation.
        for (path, _, mode) in self.entries.iter().rev() {
            if let Some(mode) = mode {
                std::fs::set_permissions(root.join(path), std::fs::Permissions::from_mode(*mode))
                    .unwrap();
            }
        }
    }
}

/// What one entry looks like after a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `f`, `d`, `l` or `p` (other).
    pub kind: char,
    /// Permission bits.
    pub mode: u32,
    /// File contents (files only).
    pub contents: Option<Vec<u8>>,
    /// Symlink target.
    pub target: Option<PathBuf>,
    /// Other paths of the same inode.
    pub links: Vec<PathBuf>,
}

/// Every entry under a root, by relative path.
pub type Snapshot = BTreeMap<PathBuf, Entry>;

/// Records everything under `root`.
pub fn snapshot(root: &Path) -> Snapshot {
    let mut entries = BTreeMap::new();
    let mut inodes: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    visit(root, root, &mut entries, &mut inodes);
    for paths in inodes.values().filter(|p| p.len() > 1) {
        for path in paths {
            entries.get_mut(path).unwrap().links =
                paths.iter().filter(|p| *p != path).cloned().collect();
        }
    }
    entries
}

fn visit(root: &Path, dir: &Path, entries: &mut Snapshot, inodes: &mut HashMap<u64, Vec<PathBuf>>) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    for item in listing.flatten() {
        let path = item.path();
        let relative = path.strip_prefix(root).unwrap().to_owned();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let kind = meta.file_type();
        let entry = Entry {
            kind: if kind.is_symlink() {
                'l'
            } else if kind.is_dir() {
                'd'
            } else if kind.is_file() {
                'f'
            } else {
                'p'
            },
            mode: meta.mode() & 0o7777,
            contents: kind
                .is_file()
                .then(|| std::fs::read(&path).unwrap_or_default()),
            target: kind
                .is_symlink()
                .then(|| std::fs::read_link(&path).unwrap()),
            links: Vec::new(),
        };
        if kind.is_file() && meta.nlink() > 1 {
            inodes.entry(meta.ino()).or_default().push(relative.clone());
        }
        entries.insert(relative, entry);
        if kind.is_dir() && !kind.is_symlink() {
            visit(root, &path, entries, inodes);
        }
    }
}

/// Lines describing how two snapshots differ (empty if they do not).
pub fn diff_snapshots(cpython: &Snapshot, ours: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (path, theirs) in cpython {
        match ours.get(path) {
            None => out.push(format!("{}: only CPython left it", path.display())),
            Some(mine) if mine != theirs => out.push(format!(
                "{}: CPython {}, ours {}",
                path.display(),
                describe(theirs),
                describe(mine)
            )),
            Some(_) => {}
        }
    }
    for path in ours.keys().filter(|p| !cpython.contains_key(*p)) {
        out.push(format!("{}: only we left it", path.display()));
    }
    out
}

fn describe(entry: &Entry) -> String {
    let contents = entry
        .contents
        .as_ref()
        .map(|c| format!(" {} bytes", c.len()))
        .unwrap_or_default();
    format!(
        "{} {:o}{contents} target={:?} links={:?}",
        entry.kind, entry.mode, entry.target, entry.links
    )
}

/// Our `compileall` binary: `$COMPILEALL_BIN`, or `target/<profile>/compileall`
/// next to the running test (which `cargo test --workspace` builds).
pub fn ours_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("COMPILEALL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("compileall");
    assert!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p compileall-cli` (cargo test --workspace does)",
        binary.display()
    );
    binary
}

/// Who runs a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum User {
    /// The current user (root on CI).
    Current,
    /// uid/gid 65534, for which permission bits are real.
    Nobody,
}

/// How to run one tool in a tree.
#[derive(Clone, Debug)]
pub struct Run<'a> {
    /// The interpreter (both tools compile for it).
    pub python: &'a Path,
    /// Arguments after `-m compileall` / after our binary's `--python X`.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Standard input.
    pub stdin: Vec<u8>,
    /// Who runs it.
    pub user: User,
}

impl<'a> Run<'a> {
    /// A run with these arguments and nothing else special.
    pub fn new(python: &'a Path, args: &[&str]) -> Run<'a> {
        Run {
            python,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            stdin: Vec::new(),
            user: User::Current,
        }
    }

    /// `python -m compileall ARGS` in `cwd`.
    pub fn cpython(&self, cwd: &Path) -> Output {
        let mut command = Command::new(self.python);
        command
            .args(["-m", "compileall"])
            .args(self.args.iter().map(|a| with_root(a, cwd)));
        self.execute(command, cwd)
    }

    /// `compileall --python PYTHON ARGS` in `cwd`.
    pub fn ours(&self, cwd: &Path) -> Output {
        let mut command = Command::new(ours_binary());
        command
            .arg("--python")
            .arg(self.python)
            .args(self.args.iter().map(|a| with_root(a, cwd)));
        self.execute(command, cwd)
    }

    fn execute(&self, mut command: Command, cwd: &Path) -> Output {
        use std::io::Write;
        use std::os::unix::process::CommandExt;
        command
            .current_dir(cwd)
            .env_clear()
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("LANG", "C.UTF-8")
            .env("HOME", cwd)
            .envs(self.env.iter().map(|(k, v)| (k, with_root(v, cwd))))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let nobody = self.user == User::Nobody;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                libc::umask(0o022);
                if nobody && (libc::setgid(65534) != 0 || libc::setuid(65534) != 0) {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command.spawn().expect("starting the tool");
        let mut stdin = child.stdin.take().unwrap();
        let input = self.stdin.clone();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        output
    }
}

/// `{ROOT}` in an argument stands for the tree's absolute path.
fn with_root(text: &str, root: &Path) -> std::ffi::OsString {
    let mut bytes = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{ROOT}") {
        bytes.extend_from_slice(&rest.as_bytes()[..i]);
        bytes.extend_from_slice(root.as_os_str().as_bytes());
        rest = &rest[i + 6..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    std::ffi::OsString::from(std::ffi::OsStr::from_bytes(&bytes))
}

/// A fresh, empty folder whose path always has the same length
/// (`/tmp/cas-XXXXXXXXXX/t`), so the path can be replaced by a placeholder of
/// that length wherever it appears, pyc contents included (marshal length
/// prefixes stay right).
pub fn fresh_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("cas-")
        .rand_bytes(10)
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path().join("t");
    std::fs::create_dir(&root).unwrap();
    (dir, root)
}

/// What every [`fresh_root`] path becomes in recorded output.
pub const ROOT_PLACEHOLDER: &[u8] = b"/tmp/cas-@@@@@@@@@@/t";

/// Replaces the random part of a [`fresh_root`] path (`cas-XXXXXXXXXX`)
/// wherever it appears, absolute or not, with `cas-@@@@@@@@@@`.
pub fn hide_root(bytes: &[u8], root: &Path) -> Vec<u8> {
    let random = root
        .parent()
        .and_then(Path::file_name)
        .map_or(&b""[..], |n| n.as_bytes());
    replace_all(
        bytes,
        random,
        &ROOT_PLACEHOLDER[5..ROOT_PLACEHOLDER.len() - 2],
    )
}

fn replace_all(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() || bytes.len() < from.len() {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Everything one tool did.
#[derive(Debug)]
pub struct Outcome {
    /// Exit status (`None` if killed).
    pub status: Option<i32>,
    /// Stdout, with random temporary-file names normalized.
    pub stdout: String,
    /// Stderr, likewise.
    pub stderr: String,
    /// The tree afterwards.
    pub tree: Snapshot,
}

/// `_write_atomic` names its temporary `{cfile}.{id(path)}`: a random number
/// that reaches error messages. Ours is `{cfile}.{pid}.{n}.tmp`.
pub fn normalize(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(i) = rest.find(".pyc.") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let end = rest.find(['\'', '"', ' ', '\n']).unwrap_or(rest.len());
        if rest[..end].starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str("<tmp>");
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Builds `tree` twice, runs CPython in one copy and ours in the other, with
/// the same relative paths (so file names inside pycs match too).
pub fn run_both(tree: &Tree, run: &Run<'_>) -> (Outcome, Outcome) {
    let (_cpython_dir, cpython_root) = fresh_root();
    let (_ours_dir, ours_root) = fresh_root();
    for root in [&cpython_root, &ours_root] {
        tree.build(root);
        if run.user == User::Nobody {
            chown_tree(root);
        }
    }
    let cpython = outcome(run.cpython(&cpython_root), &cpython_root);
    let ours = outcome(run.ours(&ours_root), &ours_root);
    (cpython, ours)
}

/// The outcome of a run in `root`, with the root's path hidden everywhere.
pub fn outcome(output: Output, root: &Path) -> Outcome {
    // Paths under a pycache_prefix repeat the root in file names.
    let mut tree: Snapshot = snapshot(root)
        .into_iter()
        .map(|(path, entry)| {
            let hidden = hide_root(path.as_os_str().as_bytes(), root);
            (
                PathBuf::from(std::ffi::OsString::from(std::ffi::OsStr::from_bytes(
                    &hidden,
                ))),
                entry,
            )
        })
        .collect();
    for entry in tree.values_mut() {
        if let Some(contents) = &mut entry.contents {
            *contents = hide_root(contents, root);
        }
        if let Some(target) = &mut entry.target {
            *target = PathBuf::from(std::ffi::OsString::from(std::ffi::OsStr::from_bytes(
                &hide_root(target.as_os_str().as_bytes(), root),
            )));
        }
    }
    Outcome {
        status: output.status.code(),
        stdout: normalize(&hide_root(&output.stdout, root)),
        stderr: normalize(&hide_root(&output.stderr, root)),
        tree,
    }
}

/// Hands every entry (not behind symlinks) to uid/gid 65534, keeping the
/// modes the tree set; the scratch folder's ancestors must be traversable.
pub fn chown_tree(root: &Path) {
    let mut path = root.to_owned();
    while let Some(parent) = path.parent() {
        let c_path = std::ffi::CString::new(parent.as_os_str().as_bytes()).unwrap();
        // Let nobody traverse the temporary folders above the tree.
        if parent.starts_with(std::env::temp_dir()) {
            // SAFETY: a valid NUL-terminated path.
            unsafe { libc::chmod(c_path.as_ptr(), 0o755) };
        }
        path = parent.to_owned();
    }
    chown_recursive(root);
}

fn chown_recursive(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; lchown does not follow links.
    unsafe { libc::lchown(c_path.as_ptr(), 65534, 65534) };
    let is_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir && let Ok(listing) = std::fs::read_dir(path) {
        for item in listing.flatten() {
            chown_recursive(&item.path());
        }
    }
}

/// Every way two outcomes differ, as readable lines.
pub fn compare(cpython: &Outcome, ours: &Outcome, ordered_stdout: bool) -> Vec<String> {
    let mut out = Vec::new();
    if cpython.status != ours.status {
        out.push(format!(
            "exit status: CPython {:?}, ours {:?}",
            cpython.status, ours.status
        ));
    }
    let lines = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if !ordered_stdout {
            lines.sort();
        }
        lines
    };
    if lines(&cpython.stdout) != lines(&ours.stdout) {
        out.push(format!(
            "stdout:\n--- CPython\n{}\n--- ours\n{}",
            cpython.stdout, ours.stdout
        ));
    }
    let traceback = cpython
        .stderr
        .contains("Traceback (most recent call last):");
    let stderr_matches = if traceback {
        cpython.stderr.lines().last() == ours.stderr.lines().last()
    } else {
        cpython.stderr == ours.stderr
    };
    if !stderr_matches {
        out.push(format!(
            "stderr:\n--- CPython\n{}\n--- ours\n{}",
            cpython.stderr, ours.stderr
        ));
    }
    out.extend(diff_snapshots(&cpython.tree, &ours.tree));
    out
}
