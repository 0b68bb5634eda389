//! Source trees to compile: an interpreter's own standard library, a
//! generated tree that any machine can rebuild identically, or pinned
//! popular packages from the package index ([`crate::popular`]), or a
//! generated tree shaped like a large `site-packages` at any size
//! ([`scale`]).

pub mod scale;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use compileall_tests::pythons::Python;

/// Builds corpus `name` at `dest` (once; later calls reuse it) and returns
/// how many `.py` files it has. `scale-N` is the scale corpus with `N`
/// sources (`scale`: [`scale::DEFAULT_FILES`]).
pub fn build(name: &str, python: &Python, dest: &Path) -> Result<usize> {
    let marker = dest.with_extension("complete");
    if !marker.exists() {
        if dest.exists() {
            fs_err::remove_dir_all(dest)?;
        }
        fs_err::create_dir_all(dest.parent().expect("corpus paths have parents"))?;
        match name {
            "stdlib" => copy_stdlib(&python.stdlib, dest)?,
            "synthetic" => generate(dest, 3000)?,
            "popular" => crate::popular::build(dest)?,
            "scale" => scale::generate(dest, scale::DEFAULT_FILES)?,
            other => match other.strip_prefix("scale-").map(str::parse) {
                Some(Ok(files)) => scale::generate(dest, files)?,
                _ => bail!("unknown corpus {other:?} (stdlib, synthetic, popular, scale, scale-N)"),
            },
        }
        fs_err::write(&marker, b"")?;
    }
    let mut sources = Vec::new();
    collect_sources(dest, &mut sources)?;
    Ok(sources.len())
}

/// The standard library as installed, without third-party packages or
/// bytecode (CPython's test suite is included where it is installed).
fn copy_stdlib(stdlib: &Path, dest: &Path) -> Result<()> {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(stdlib)
        .arg(dest)
        .status()?;
    if !status.success() {
        bail!("copying {} failed", stdlib.display());
    }
    for extra in ["site-packages", "dist-packages"] {
        let path = dest.join(extra);
        if path.exists() {
            fs_err::remove_dir_all(&path)?;
        }
    }
    remove_bytecode(dest)
}

fn remove_bytecode(dir: &Path) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() == "__pycache__" {
                fs_err::remove_dir_all(&path)?;
            } else {
                remove_bytecode(&path)?;
            }
        } else if path.extension().is_some_and(|e| e == "pyc") {
            fs_err::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Every `.py` file under `dir` (following no symlinks).
pub fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            collect_sources(&path, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "py") {
            out.push(path);
        }
    }
    Ok(())
}

/// A package tree of `modules` modules with the shapes real code has
/// (classes, docstrings, asserts, comprehensions, f-strings, try/except,
/// async, match), so that each optimization level compiles differently.
/// Deterministic: the same bytes on every machine.
fn generate(dest: &Path, modules: usize) -> Result<()> {
    let mut rng = Lcg(0x5eed_cafe);
    let per_package = 25;
    for index in 0..modules {
        let package = dest.join(format!("pkg{:03}/sub{}", index / per_package, index % 3));
        fs_err::create_dir_all(&package)?;
        if index % per_package < 3 {
            fs_err::write(
                package.join("__init__.py"),
                b"\"\"\"A generated package.\"\"\"\n",
            )?;
            fs_err::write(package.parent().unwrap().join("__init__.py"), b"")?;
        }
        let source = module_source(&mut rng, index);
        fs_err::write(package.join(format!("mod{index:05}.py")), source)?;
    }
    Ok(())
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn module_source(rng: &mut Lcg, index: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\"\"\"Module {index}: generated for benchmarks.\n\nIt has a docstring, so -OO changes it.\n\"\"\""
    );
    s.push_str("import os\nimport sys\nfrom collections import defaultdict\n\n");
    let _ = writeln!(
        s,
        "CONSTANT_{index} = {}\nNAMES = {:?}\n",
        rng.next(1000),
        ["alpha", "beta", "gamma"]
    );
    let classes = 3 + rng.next(4);
    for c in 0..classes {
        let _ = writeln!(
            s,
            "class Thing{c}:\n    \"\"\"A thing with {c} parts.\"\"\"\n"
        );
        let _ = writeln!(
            s,
            "    kind = {c}\n\n    def __init__(self, value, *, scale={}):",
            rng.next(10) + 1
        );
        s.push_str("        assert value is not None, 'value required'\n");
        s.push_str(
            "        self.value = value\n        self.scale = scale\n        self.cache = {}\n\n",
        );
        let methods = 4 + rng.next(6);
        for m in 0..methods {
            let _ = writeln!(
                s,
                "    def method_{m}(self, items, limit={}):",
                rng.next(50)
            );
            let _ = writeln!(s, "        \"\"\"Return items scaled ({m}).\"\"\"");
            match rng.next(5) {
                0 => s.push_str("        return [x * self.scale for x in items if x < limit]\n\n"),
                1 => s.push_str(
                    "        total = 0\n        for i, x in enumerate(items):\n            if i % 2:\n                total += x\n            else:\n                total -= x\n        return total\n\n",
                ),
                2 => s.push_str(
                    "        try:\n            return {k: v for k, v in zip(items, range(limit))}\n        except (TypeError, ValueError) as exc:\n            raise RuntimeError(f'bad items: {exc!r} at {self.value}') from exc\n\n",
                ),
                3 => s.push_str(
                    "        match items:\n            case [first, *rest]:\n                return first, len(rest)\n            case {'key': value}:\n                return value\n            case _:\n                return None\n\n",
                ),
                _ => s.push_str(
                    "        counts = defaultdict(int)\n        for x in items:\n            counts[str(x)[:limit]] += 1\n        assert counts, 'empty'\n        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))\n\n",
                ),
            }
        }
    }
    let functions = 5 + rng.next(10);
    for f in 0..functions {
        let _ = writeln!(
            s,
            "async def fetch_{f}(session, url, retries={}):",
            rng.next(5)
        );
        let _ = writeln!(s, "    \"\"\"Fetch with {f} retries.\"\"\"");
        s.push_str("    for attempt in range(retries):\n        async with session.get(url) as response:\n            if response.status == 200:\n                return await response.text()\n    return None\n\n");
        let _ = writeln!(s, "def helper_{f}(path=os.sep, *args, **kwargs):");
        s.push_str(
            "    assert isinstance(path, str)\n    parts = [p for p in path.split(os.sep) if p]\n",
        );
        let _ = writeln!(
            s,
            "    return {{'parts': parts, 'depth': len(parts) + {}, 'args': args, **kwargs}}\n",
            rng.next(100)
        );
    }
    s.push_str("if __name__ == '__main__':\n    print(helper_0(sys.argv[0]))\n");
    s
}
