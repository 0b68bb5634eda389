//! `cargo xtask pythons`: runnable CPython 3.13, 3.14 and 3.15 from
//! Debian's unstable packages, with nothing installed system-wide.
//!
//! The machine runs Debian 12, whose glibc is too old for unstable's
//! interpreters. So the packages are downloaded with a private apt
//! configuration (no install), unpacked with their own glibc next to them,
//! and the interpreter binary is pointed at that glibc's loader and
//! libraries with patchelf. It then runs directly, finds its stdlib next to
//! itself, and `sys.executable` works (so `-m compileall -j N` can spawn
//! workers). The host's `python3` (3.11) is used as it is.
//!
//! The manifest this writes is read through `compileall_tests::pythons`
//! (`manifest()`, `installed()`, `require()`), which the tests, fixtures,
//! conformance and bench all share.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, anyhow, bail};
use compileall_tests::loud;
use compileall_tests::pythons::{Manifest, Python, SUPPORTED, pythons_dir};

/// The release line taken from the host's `python3`.
const HOST_VERSION: &str = "3.11";

/// The release lines taken from Debian unstable.
const DEBIAN_VERSIONS: [&str; 3] = ["3.13", "3.14", "3.15"];

/// Runtime libraries every interpreter needs besides its own packages.
const BASE_PACKAGES: [&str; 3] = ["libc6", "zlib1g", "libexpat1"];

/// The only release line whose test suite is unpacked (a compile corpus).
const TESTSUITE_VERSION: &str = "3.14";

/// Options of `cargo xtask pythons`.
#[derive(Debug, Default, clap::Args)]
pub struct PythonsArgs {
    /// Rebuild interpreters that are already there.
    #[arg(long)]
    pub force: bool,
    /// Only these versions (default: 3.11 from the host, and 3.13-3.15).
    #[arg(long, value_delimiter = ',')]
    pub versions: Vec<String>,
}

/// Provisions the interpreters, writes the manifest and prints where each
/// one is. Fails only if an explicitly requested version is unavailable or
/// nothing usable results.
pub fn run(args: &PythonsArgs) -> Result<Manifest> {
    if let Some(unknown) = args
        .versions
        .iter()
        .find(|v| !SUPPORTED.contains(&v.as_str()))
    {
        bail!(
            "unknown version {unknown}; supported: {}",
            SUPPORTED.join(", ")
        );
    }
    let dir = pythons_dir();
    fs_err::create_dir_all(&dir)?;
    // Interpreters must be recorded by absolute path, and sys.executable is
    // absolute but does not resolve symlinks: make the folder absolute only.
    let dir = std::path::absolute(&dir)?;
    let wanted =
        |version: &str| args.versions.is_empty() || args.versions.iter().any(|v| v == version);

    let mut pythons = Vec::new();
    let mut missing = Vec::new();
    if wanted(HOST_VERSION) {
        match host_python() {
            Ok(python) => pythons.push(python),
            Err(err) => missing.push((HOST_VERSION, format!("{err:#}"))),
        }
    }
    // Working prefixes from earlier runs: reused, or kept if a forced
    // rebuild fails (Debian unstable may have dropped the version).
    let mut existing = BTreeMap::new();
    let mut to_build = Vec::new();
    for version in DEBIAN_VERSIONS.into_iter().filter(|v| wanted(v)) {
        match (inspect_prefix(&dir, version), args.force) {
            (Ok(python), false) => pythons.push(python),
            (Ok(python), true) => {
                existing.insert(version, python);
                to_build.push(version);
            }
            (Err(_), _) => to_build.push(version),
        }
    }
    for (version, result) in provision(&dir, &to_build) {
        match (result, existing.remove(version)) {
            (Ok(python), _) => pythons.push(python),
            (Err(err), Some(old)) => {
                loud(&format!(
                    "WARNING: rebuilding CPython {version} FAILED, keeping the existing {}: {err:#}",
                    old.full_version
                ));
                pythons.push(old);
            }
            (Err(err), None) => missing.push((version, format!("{err:#}"))),
        }
    }

    // Versions not asked for this time keep their entries.
    let mut manifest = compileall_tests::pythons::manifest();
    manifest
        .pythons
        .retain(|old| !wanted(&old.version) && old.executable.is_file());
    manifest.pythons.extend(pythons.iter().cloned());
    manifest.pythons.sort_by_key(|p| version_key(&p.version));
    write_manifest(&dir, &manifest)?;

    pythons.sort_by_key(|p| version_key(&p.version));
    for python in &pythons {
        println!("{:<8} {}", python.full_version, python.executable.display());
    }
    for (version, reason) in &missing {
        loud(&format!(
            "WARNING: CPython {version} is NOT available; tests against it will be skipped: {reason}"
        ));
    }
    let explicitly_missing = missing
        .iter()
        .any(|(v, _)| args.versions.iter().any(|asked| asked == v));
    if pythons.is_empty() || explicitly_missing {
        let names: Vec<&str> = missing.iter().map(|(v, _)| *v).collect();
        bail!("interpreters missing: {}", names.join(", "));
    }
    Ok(manifest)
}

fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<()> {
    let path = dir.join("pythons.json");
    let temp = dir.join(format!("pythons.json.{}.tmp", std::process::id()));
    let mut json = serde_json::to_vec_pretty(manifest)?;
    json.push(b'\n');
    fs_err::write(&temp, json)?;
    Ok(fs_err::rename(&temp, &path)?)
}

fn version_key(version: &str) -> (u32, u32) {
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn prefix(dir: &Path, version: &str) -> PathBuf {
    dir.join(format!("cpython-{version}"))
}

fn binary(prefix: &Path, version: &str) -> PathBuf {
    prefix.join("usr/bin").join(format!("python{version}"))
}

fn libdir(prefix: &Path) -> PathBuf {
    prefix.join("usr/lib/x86_64-linux-gnu")
}

/// The Debian packages unpacked into one version's prefix.
fn packages(version: &str) -> Vec<String> {
    let mut packages: Vec<String> = BASE_PACKAGES.map(String::from).to_vec();
    packages.extend([
        format!("python{version}-minimal"),
        format!("libpython{version}-minimal"),
        format!("libpython{version}-stdlib"),
    ]);
    if version == TESTSUITE_VERSION {
        packages.push(format!("libpython{version}-testsuite"));
    }
    packages
}

/// The host's `python3`, resolved to its real binary (not a pyenv shim).
fn host_python() -> Result<Python> {
    let output =
        checked(Command::new("python3").args(["-c", "import sys; print(sys.executable)"]))?;
    let executable = PathBuf::from(String::from_utf8(output.stdout)?.trim());
    let python = inspect(&executable)?;
    if python.version != HOST_VERSION {
        bail!(
            "python3 on PATH is {} ({}), not {HOST_VERSION}",
            python.full_version,
            executable.display()
        );
    }
    Ok(Python {
        source: "host".into(),
        ..python
    })
}

/// The interpreter already in `version`'s prefix, if it runs and is that
/// version. Prefixes only appear complete (see [`build`]).
fn inspect_prefix(dir: &Path, version: &str) -> Result<Python> {
    let python = inspect(&binary(&prefix(dir, version), version))?;
    if python.version != version {
        bail!("the {version} prefix holds Python {}", python.full_version);
    }
    Ok(Python {
        source: "debian-sid".into(),
        ..python
    })
}

/// What an interpreter says about itself.
fn inspect(executable: &Path) -> Result<Python> {
    const PROBE: &str = "import sys, sysconfig, importlib.util, os, platform\n\
        print('%d.%d' % sys.version_info[:2])\n\
        print(platform.python_version())\n\
        print(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))\n\
        print(sys.implementation.cache_tag)\n\
        print(sys.executable)\n\
        stdlib = sysconfig.get_paths()['stdlib']\n\
        print(stdlib)\n\
        test = os.path.join(stdlib, 'test')\n\
        print(test if os.path.exists(os.path.join(test, 'test_grammar.py')) else '')\n";
    let output = checked(Command::new(executable).args(["-I", "-c", PROBE]))?;
    let text = String::from_utf8(output.stdout)?;
    let lines: Vec<&str> = text.lines().collect();
    let [
        version,
        full_version,
        magic,
        cache_tag,
        reported_executable,
        stdlib,
        testsuite,
    ] = lines[..]
    else {
        bail!("unexpected answer from {}: {text:?}", executable.display());
    };
    if Path::new(reported_executable) != executable {
        bail!(
            "{} reports sys.executable = {reported_executable}, so it could not start compileall's workers",
            executable.display()
        );
    }
    Ok(Python {
        version: version.into(),
        full_version: full_version.into(),
        executable: executable.to_owned(),
        magic: magic.parse()?,
        cache_tag: cache_tag.into(),
        stdlib: stdlib.into(),
        testsuite: (!testsuite.is_empty()).then(|| testsuite.into()),
        source: String::new(),
    })
}

/// Downloads, unpacks and patches `versions`. Failures are per version, so
/// one version gone from Debian unstable does not stop the others.
fn provision<'a>(dir: &Path, versions: &[&'a str]) -> Vec<(&'a str, Result<Python>)> {
    if versions.is_empty() {
        return Vec::new();
    }
    let shared = (|| -> Result<_> {
        if std::env::consts::ARCH != "x86_64" {
            bail!("only x86_64 is supported (the loader path is x86_64's)");
        }
        let patchelf = patchelf(dir).context("finding patchelf")?;
        let apt = Apt::update(dir, "sid")?;
        // A fresh folder each time: stale packages of older releases must
        // not be mixed into a new prefix.
        let debs = dir.join("debs");
        if debs.exists() {
            fs_err::remove_dir_all(&debs)?;
        }
        fs_err::create_dir_all(&debs)?;
        apt.download(&BASE_PACKAGES.map(String::from), &debs)?;
        Ok((patchelf, apt, debs))
    })();
    versions
        .iter()
        .map(|&version| {
            let result = match &shared {
                Ok((patchelf, apt, debs)) => {
                    let own = &packages(version)[BASE_PACKAGES.len()..];
                    apt.download(own, debs)
                        .and_then(|()| build(dir, version, debs, patchelf))
                }
                Err(err) => Err(anyhow!("{err:#}")),
            };
            (version, result)
        })
        .collect()
}

/// A private apt configuration for one Debian suite: sources, lists and
/// cache all under the cache folder, nothing of the host's apt state used.
struct Apt {
    options: Vec<OsString>,
}

impl Apt {
    /// Writes the configuration and runs `apt-get update` with it.
    fn update(dir: &Path, suite: &str) -> Result<Self> {
        let root = dir.join(format!("apt-{suite}"));
        for sub in ["lists/partial", "cache/archives/partial"] {
            fs_err::create_dir_all(root.join(sub))?;
        }
        fs_err::write(
            root.join("debian.sources"),
            format!(
                "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: {suite}\n\
                 Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            ),
        )?;
        let mut options = Vec::new();
        for (key, value) in [
            ("Dir::Etc::SourceList", Path::new("/dev/null")),
            ("Dir::Etc::SourceParts", &root),
            ("Dir::State::Lists", &root.join("lists")),
            ("Dir::Cache", &root.join("cache")),
        ] {
            let mut option = OsString::from(format!("{key}="));
            option.push(value);
            options.extend([OsString::from("-o"), option]);
        }
        // As root, apt would drop to the `_apt` user to download, which
        // cannot write into our folders (and warns). As anyone else this
        // setting is ignored.
        options.extend(["-o", "APT::Sandbox::User=root", "-qq"].map(OsString::from));
        println!(
            "Updating the Debian {suite} package lists in {}",
            root.display()
        );
        let output = checked(Command::new("apt-get").args(&options).arg("update"))?;
        forward_stderr(&output);
        Ok(Self { options })
    }

    /// `apt-get download` of `packages` into `into`; nothing is installed.
    fn download(&self, packages: &[String], into: &Path) -> Result<()> {
        let output = checked(
            Command::new("apt-get")
                .args(&self.options)
                .arg("download")
                .args(packages)
                .current_dir(into),
        )?;
        forward_stderr(&output);
        Ok(())
    }
}

/// The downloaded `.deb` of `package` (the folder holds one of each).
fn deb_of(debs: &Path, package: &str) -> Result<PathBuf> {
    let wanted = format!("{package}_");
    for entry in fs_err::read_dir(debs)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&wanted) && n.ends_with(".deb"))
        {
            return Ok(path);
        }
    }
    bail!("{package} was not downloaded into {}", debs.display())
}

/// A `patchelf` that runs here: the one on PATH, else one unpacked from
/// Debian 12's package (the host's own release, so it runs with the host's
/// libraries) without installing anything, else, as root, an installed one.
fn patchelf(dir: &Path) -> Result<PathBuf> {
    let runs = |path: &Path| checked(Command::new(path).arg("--version")).is_ok();
    if runs(Path::new("patchelf")) {
        return Ok("patchelf".into());
    }
    let unpacked = dir.join("patchelf");
    let binary = unpacked.join("usr/bin/patchelf");
    if runs(&binary) {
        return Ok(binary);
    }
    let downloaded = (|| -> Result<()> {
        let apt = Apt::update(dir, "bookworm")?;
        let debs = dir.join("patchelf-deb");
        if debs.exists() {
            fs_err::remove_dir_all(&debs)?;
        }
        fs_err::create_dir_all(&debs)?;
        apt.download(&["patchelf".into()], &debs)?;
        unpack_atomically(&[deb_of(&debs, "patchelf")?], &unpacked)
    })();
    match downloaded {
        Ok(()) if runs(&binary) => return Ok(binary),
        Ok(()) => loud(&format!("WARNING: {} does not run", binary.display())),
        Err(err) => loud(&format!("WARNING: could not download patchelf: {err:#}")),
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "patchelf is not on PATH and could not be downloaded; install it (apt-get install patchelf)"
        );
    }
    println!("Running `apt-get install -y patchelf` (as root)");
    checked(Command::new("apt-get").args(["install", "-y", "patchelf"]))?;
    Ok("/usr/bin/patchelf".into())
}

/// `dpkg -x`s `debs` into a sibling of `target`, then renames it there, so
/// an interrupted run never leaves a partial folder at `target`.
fn unpack_atomically(debs: &[PathBuf], target: &Path) -> Result<()> {
    let staging = staging_of(target);
    if staging.exists() {
        fs_err::remove_dir_all(&staging)?;
    }
    for deb in debs {
        checked(Command::new("dpkg").arg("-x").arg(deb).arg(&staging))?;
    }
    replace_dir(&staging, target)
}

fn staging_of(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    target.with_file_name(format!(".staging-{name}"))
}

fn replace_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        fs_err::remove_dir_all(to)?;
    }
    Ok(fs_err::rename(from, to)?)
}

/// Unpacks and patches one interpreter into its prefix, atomically: the
/// prefix only appears once it is complete.
fn build(dir: &Path, version: &str, debs: &Path, patchelf: &Path) -> Result<Python> {
    let prefix = prefix(dir, version);
    let staging = staging_of(&prefix);
    if staging.exists() {
        fs_err::remove_dir_all(&staging)?;
    }
    for package in packages(version) {
        let deb = deb_of(debs, &package)?;
        checked(Command::new("dpkg").arg("-x").arg(deb).arg(&staging))?;
    }
    // Final-prefix paths: the staging folder is renamed there.
    checked(
        Command::new(patchelf)
            .arg("--set-interpreter")
            .arg(libdir(&prefix).join("ld-linux-x86-64.so.2"))
            .arg("--set-rpath")
            .arg(libdir(&prefix))
            .arg(binary(&staging, version)),
    )?;
    replace_dir(&staging, &prefix)?;
    let python = inspect_prefix(dir, version)?;
    precompile_stdlib(&python)?;
    Ok(python)
}

/// Debian's packages ship no bytecode (their postinst compiles it); do the
/// same, or every start of these interpreters compiles the modules it
/// imports, which would dominate start-up in benchmarks and tests.
fn precompile_stdlib(python: &Python) -> Result<()> {
    let output = Command::new(&python.executable)
        .args(["-m", "compileall", "-q", "-q", "-j", "0"])
        .arg(&python.stdlib)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .context("compiling the standard library")?;
    // Exit status 1 is expected: the test suite has files that are
    // deliberately not valid Python.
    if output.status.code().is_none_or(|c| c > 1) {
        bail!(
            "compiling {}'s standard library failed ({}): {}",
            python.full_version,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Runs `command`, capturing its output; an error names the command, its
/// exit status and its stderr.
fn checked(command: &mut Command) -> Result<Output> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ");
    let output = command
        .output()
        .with_context(|| format!("could not run `{line}`"))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Passes on what a successful command warned about.
fn forward_stderr(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.trim().is_empty() {
        eprint!("{stderr}");
    }
}
