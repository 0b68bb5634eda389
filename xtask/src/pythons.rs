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

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use compileall_tests::pythons::{Manifest, Python, pythons_dir};

/// The Debian-packaged release lines.
const DEBIAN_VERSIONS: [&str; 3] = ["3.13", "3.14", "3.15"];

/// Runtime libraries every interpreter needs besides its own packages.
const BASE_PACKAGES: [&str; 3] = ["libc6", "zlib1g", "libexpat1"];

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
    let dir = pythons_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let wanted =
        |version: &str| args.versions.is_empty() || args.versions.iter().any(|v| v == version);

    let mut pythons = Vec::new();
    let mut missing = Vec::new();
    if wanted("3.11") {
        match host_python() {
            Ok(python) => pythons.push(python),
            Err(err) => missing.push(("3.11".to_string(), format!("{err:#}"))),
        }
    }
    let debian: Vec<&str> = DEBIAN_VERSIONS
        .iter()
        .copied()
        .filter(|v| wanted(v))
        .collect();
    let mut to_build = Vec::new();
    for version in &debian {
        match (
            args.force,
            inspect(
                &prefix(&dir, version)
                    .join("usr/bin")
                    .join(format!("python{version}")),
            ),
        ) {
            (false, Ok(python)) if python.version == *version => pythons.push(Python {
                source: "debian-sid".into(),
                ..python
            }),
            _ => to_build.push(*version),
        }
    }
    if !to_build.is_empty() {
        let debs = download(&dir, &to_build)?;
        let patchelf = patchelf(&dir)?;
        for version in to_build {
            match build(&dir, version, &debs, &patchelf) {
                Ok(python) => pythons.push(python),
                Err(err) => missing.push((version.to_string(), format!("{err:#}"))),
            }
        }
    }
    pythons.sort_by_key(|p| version_key(&p.version));

    let manifest = Manifest { pythons };
    // Keep entries of versions not asked for this time.
    let mut merged = compileall_tests::pythons::manifest();
    merged.pythons.retain(|old| {
        !manifest
            .pythons
            .iter()
            .any(|new| new.version == old.version)
    });
    merged.pythons.extend(manifest.pythons.iter().cloned());
    merged.pythons.sort_by_key(|p| version_key(&p.version));
    let path = dir.join("pythons.json");
    let temp = dir.join("pythons.json.tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(&merged)?)?;
    std::fs::rename(&temp, &path)?;

    for python in &manifest.pythons {
        println!("{:<8} {}", python.full_version, python.executable.display());
    }
    for (version, reason) in &missing {
        eprintln!(
            "WARNING: CPython {version} is NOT available; tests against it will be skipped: {reason}"
        );
    }
    let explicitly_missing = missing.iter().any(|(v, _)| args.versions.contains(v));
    if manifest.pythons.is_empty() || explicitly_missing {
        bail!(
            "interpreters missing: {}",
            missing
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(merged)
}

fn version_key(version: &str) -> (u32, u32) {
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn prefix(dir: &Path, version: &str) -> PathBuf {
    dir.join(format!("cpython-{version}"))
}

/// The host's `python3`, resolved to its real binary (not a pyenv shim).
fn host_python() -> Result<Python> {
    let output = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .context("running python3")?;
    if !output.status.success() {
        bail!(
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let executable = PathBuf::from(String::from_utf8(output.stdout)?.trim());
    let python = inspect(&executable)?;
    Ok(Python {
        source: "host".into(),
        ..python
    })
}

/// What an interpreter says about itself.
fn inspect(executable: &Path) -> Result<Python> {
    const PROBE: &str = "import sys, sysconfig, importlib.util, os\n\
        print('%d.%d' % sys.version_info[:2])\n\
        print('%d.%d.%d' % sys.version_info[:3])\n\
        print(int.from_bytes(importlib.util.MAGIC_NUMBER[:2], 'little'))\n\
        print(sys.implementation.cache_tag)\n\
        print(sys.executable)\n\
        stdlib = sysconfig.get_paths()['stdlib']\n\
        print(stdlib)\n\
        test = os.path.join(stdlib, 'test')\n\
        print(test if os.path.exists(os.path.join(test, 'test_grammar.py')) else '')\n";
    let output = Command::new(executable)
        .args(["-I", "-c", PROBE])
        .output()
        .with_context(|| format!("running {}", executable.display()))?;
    if !output.status.success() {
        bail!(
            "{} does not run: {}",
            executable.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
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

/// The private apt configuration for one Debian suite: sources, lists and
/// cache all under `dir`, nothing of the host's apt state touched.
fn apt(dir: &Path, suite: &str) -> Result<Vec<String>> {
    let root = dir.join(format!("apt-{suite}"));
    for sub in ["lists/partial", "cache/archives/partial"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    std::fs::write(
        root.join("debian.sources"),
        format!(
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: {suite}\nComponents: main\n\
             Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        ),
    )?;
    let opt =
        |key: &str, value: &Path| vec!["-o".to_string(), format!("{key}={}", value.display())];
    let mut options = opt("Dir::Etc::SourceList", Path::new("/dev/null"));
    options.extend(opt("Dir::Etc::SourceParts", &root));
    options.extend(opt("Dir::State::Lists", &root.join("lists")));
    options.extend(opt("Dir::Cache", &root.join("cache")));
    // Downloading as root into our own folder: no need for the _apt
    // sandbox user (which cannot write there anyway).
    options.extend([
        "-o".to_string(),
        "APT::Sandbox::User=root".to_string(),
        "-qq".to_string(),
    ]);
    let status = Command::new("apt-get")
        .args(&options)
        .arg("update")
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("apt-get update for {suite} failed ({status})");
    }
    Ok(options)
}

/// Downloads the packages for `versions` (plus the base libraries) into
/// `<dir>/debs`; returns the downloaded files. Packages that cannot be had
/// are left out with a warning, so one vanished version does not stop
/// the others.
fn download(dir: &Path, versions: &[&str]) -> Result<Vec<PathBuf>> {
    let options = apt(dir, "sid")?;
    let debs = dir.join("debs");
    std::fs::create_dir_all(&debs)?;
    let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|p| p.to_string()).collect();
    for version in versions {
        packages.extend(
            [
                "python{v}-minimal",
                "libpython{v}-minimal",
                "libpython{v}-stdlib",
            ]
            .iter()
            .map(|p| p.replace("{v}", version)),
        );
        if *version == "3.14" {
            packages.push("libpython3.14-testsuite".into());
        }
    }
    for package in &packages {
        let status = Command::new("apt-get")
            .args(&options)
            .args(["download", package])
            .current_dir(&debs)
            .status()?;
        if !status.success() {
            eprintln!("WARNING: could not download {package} from Debian unstable");
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    files.sort();
    Ok(files)
}

/// The newest downloaded `.deb` of `package`.
fn deb_of<'a>(debs: &'a [PathBuf], package: &str) -> Option<&'a PathBuf> {
    debs.iter().rfind(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(&format!("{package}_")))
    })
}

/// A `patchelf` that runs here: the host's, or one unpacked from
/// Debian 12's package (the host's own release) without installing it.
fn patchelf(dir: &Path) -> Result<PathBuf> {
    if let Ok(output) = Command::new("patchelf").arg("--version").output()
        && output.status.success()
    {
        return Ok(PathBuf::from("patchelf"));
    }
    let unpacked = dir.join("patchelf/usr/bin/patchelf");
    if unpacked.is_file() {
        return Ok(unpacked);
    }
    let options = apt(dir, "bookworm")?;
    let download = dir.join("patchelf-deb");
    std::fs::create_dir_all(&download)?;
    let status = Command::new("apt-get")
        .args(&options)
        .args(["download", "patchelf"])
        .current_dir(&download)
        .status()?;
    let deb = std::fs::read_dir(&download)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "deb"));
    let Some(deb) = deb.filter(|_| status.success()) else {
        bail!("patchelf is not installed and could not be downloaded");
    };
    check(
        Command::new("dpkg")
            .arg("-x")
            .arg(&deb)
            .arg(dir.join("patchelf")),
    )?;
    Ok(unpacked)
}

/// Unpacks and patches one interpreter into its prefix, atomically: the
/// prefix only appears once it is complete and runs.
fn build(dir: &Path, version: &str, debs: &[PathBuf], patchelf: &Path) -> Result<Python> {
    let prefix = prefix(dir, version);
    let staging = dir.join(format!(".staging-{version}"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|p| p.to_string()).collect();
    packages.extend(
        [
            "python{v}-minimal",
            "libpython{v}-minimal",
            "libpython{v}-stdlib",
        ]
        .iter()
        .map(|p| p.replace("{v}", version)),
    );
    if version == "3.14" {
        packages.push("libpython3.14-testsuite".into());
    }
    for package in &packages {
        let deb = deb_of(debs, package).with_context(|| format!("{package} was not downloaded"))?;
        check(Command::new("dpkg").arg("-x").arg(deb).arg(&staging))?;
    }
    let libdir = |root: &Path| root.join("usr/lib/x86_64-linux-gnu");
    let binary = staging.join("usr/bin").join(format!("python{version}"));
    // The paths are final-prefix paths: the staging folder is renamed there.
    check(
        Command::new(patchelf)
            .arg("--set-interpreter")
            .arg(libdir(&prefix).join("ld-linux-x86-64.so.2"))
            .arg("--set-rpath")
            .arg(libdir(&prefix))
            .arg(&binary),
    )?;
    if prefix.exists() {
        std::fs::remove_dir_all(&prefix)?;
    }
    std::fs::rename(&staging, &prefix)?;
    let python = inspect(&prefix.join("usr/bin").join(format!("python{version}")))?;
    if python.version != version {
        bail!("the {version} package holds Python {}", python.full_version);
    }
    precompile_stdlib(&python)?;
    Ok(Python {
        source: "debian-sid".into(),
        ..python
    })
}

/// Debian's packages ship no bytecode (their postinst compiles it); do the
/// same, or every start of these interpreters compiles the modules it
/// imports, which would dominate start-up in benchmarks and tests.
fn precompile_stdlib(python: &Python) -> Result<()> {
    let status = Command::new(&python.executable)
        .args(["-m", "compileall", "-q", "-q", "-j", "0"])
        .arg(&python.stdlib)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .status()
        .context("compiling the standard library")?;
    // Exit status 1 is expected: the test suite has files that are
    // deliberately not valid Python.
    if status.code().is_none_or(|c| c > 1) {
        bail!(
            "compiling {}'s standard library failed ({status})",
            python.full_version
        );
    }
    Ok(())
}

fn check(command: &mut Command) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
