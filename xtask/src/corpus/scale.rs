//! The `scale` corpus: a generated tree shaped like a large
//! `site-packages`, to see how the tools' cost grows with the tree.
//!
//! Distributions of very different sizes (most have a few dozen modules,
//! a few have thousands), each a package with nested subpackages, an
//! `__init__.py` in every package folder, folders of data files without
//! any source (`data/`, `templates/`, `locale/xx/LC_MESSAGES/`) and a
//! `.dist-info` folder. Module sizes follow a long tail, as in real
//! packages: many stubs of a few lines, most a few KB, a few of tens of KB.
//! About 6 sources per folder, so 60,000 sources make about 10,000
//! folders. Every source compiles on every version the bench runs.
//! Deterministic: the same bytes on every machine for the same size.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::Lcg;

/// The number of sources `cargo xtask bench --corpora scale` generates
/// unless `--scale-files` says otherwise.
pub const DEFAULT_FILES: usize = 60_000;

/// How many sources the package `incremental-install` adds.
pub const INSTALLED_FILES: usize = 500;

/// Writes a tree of exactly `files` sources under `dest`.
pub fn generate(dest: &Path, files: usize) -> Result<()> {
    let mut tree = Generator {
        rng: Lcg(0x5ca1_e000 ^ files as u64),
        modules: 0,
    };
    let mut remaining = files;
    let mut index = 0;
    while remaining > 0 {
        let size = tree.distribution_size().min(remaining);
        tree.distribution(dest, &format!("dist{index:04}"), size)?;
        remaining -= size;
        index += 1;
    }
    Ok(())
}

/// Writes one distribution of exactly `files` sources named `name` under
/// `dest`: what `pip install` adds to an up-to-date tree.
pub fn install(dest: &Path, name: &str, files: usize) -> Result<()> {
    let mut tree = Generator {
        rng: Lcg(0x0145_7a11 ^ files as u64),
        modules: 0,
    };
    tree.distribution(dest, name, files)
}

struct Generator {
    rng: Lcg,
    /// Modules written so far (their names and contents differ).
    modules: usize,
}

impl Generator {
    /// Sources per distribution: half are small, a few are huge.
    fn distribution_size(&mut self) -> usize {
        let (low, high) = match self.rng.next(100) {
            0..50 => (5, 40),
            50..85 => (40, 300),
            _ => (300, 3000),
        };
        (low + self.rng.next(high - low)) as usize
    }

    fn distribution(&mut self, dest: &Path, name: &str, files: usize) -> Result<()> {
        let info = dest.join(format!("{name}-1.0.dist-info"));
        fs_err::create_dir_all(&info)?;
        fs_err::write(
            info.join("METADATA"),
            format!("Name: {name}\nVersion: 1.0\n"),
        )?;
        fs_err::write(info.join("RECORD"), format!("{name}/__init__.py,,\n"))?;
        let top = dest.join(name);
        self.package(&top, files)?;
        fs_err::write(top.join("py.typed"), b"")?;
        Ok(())
    }

    /// A package folder with exactly `files` sources in it and below it.
    fn package(&mut self, dir: &Path, files: usize) -> Result<()> {
        fs_err::create_dir_all(dir)?;
        let init = if self.rng.next(3) == 0 {
            self.module(256)
        } else {
            String::new()
        };
        fs_err::write(dir.join("__init__.py"), init)?;
        let mut remaining = files - 1;
        let here = (2 + self.rng.next(12) as usize).min(remaining);
        for _ in 0..here {
            let target = self.module_size();
            let source = self.module(target);
            fs_err::write(dir.join(format!("mod{:06}.py", self.modules)), source)?;
        }
        remaining -= here;
        if self.rng.next(10) == 0 {
            self.data_folder(dir)?;
        }
        for (sub, share) in self.split(remaining).into_iter().enumerate() {
            self.package(&dir.join(format!("sub{sub}")), share)?;
        }
        Ok(())
    }

    /// `files` split over two to four subpackages of random weights, so
    /// that the tree is bushy (about seven levels for 3,000 sources)
    /// rather than a chain.
    fn split(&mut self, files: usize) -> Vec<usize> {
        if files == 0 {
            return Vec::new();
        }
        // Rarely a subpackage of one or two modules: about 6 sources per
        // folder, as in real trees.
        let count = (2 + self.rng.next(3) as usize).min(files.div_ceil(12));
        let weights: Vec<usize> = (0..count).map(|_| 1 + self.rng.next(4) as usize).collect();
        let total: usize = weights.iter().sum();
        // Each share is at least one source; the last takes the rest.
        let spare = files - count;
        let mut shares: Vec<usize> = weights.iter().map(|w| 1 + spare * w / total).collect();
        let given: usize = shares.iter().sum();
        *shares.last_mut().expect("at least one share") += files - given;
        shares
    }

    /// Files that are not sources, in folders with no source at all.
    fn data_folder(&mut self, dir: &Path) -> Result<()> {
        let data = match self.rng.next(3) {
            0 => dir.join("data"),
            1 => dir.join("templates"),
            _ => dir.join(format!("locale/l{}/LC_MESSAGES", self.rng.next(40))),
        };
        fs_err::create_dir_all(&data)?;
        for file in 0..1 + self.rng.next(3) {
            let bytes = "{\"key\": [1, 2, 3]}\n".repeat(1 + self.rng.next(50) as usize);
            fs_err::write(data.join(format!("file{file}.json")), bytes)?;
        }
        Ok(())
    }

    /// Bytes of a module: a long tail, averaging about 3 KB.
    fn module_size(&mut self) -> usize {
        let (low, high) = match self.rng.next(100) {
            0..40 => (60, 600),
            40..78 => (600, 3_000),
            78..96 => (3_000, 12_000),
            _ => (12_000, 40_000),
        };
        (low + self.rng.next(high - low)) as usize
    }

    /// A module of about `size` bytes (at least one statement).
    fn module(&mut self, size: usize) -> String {
        self.modules += 1;
        let n = self.modules;
        let mut s = format!("\"\"\"Module {n}.\"\"\"\nimport os\n\nVERSION = {n}\n\n");
        let mut block = 0;
        while s.len() < size {
            self.block(&mut s, block);
            block += 1;
        }
        s
    }

    /// One top-level statement of the kinds real modules have.
    fn block(&mut self, s: &mut String, b: usize) {
        let k = self.rng.next(1000);
        let _ = match self.rng.next(5) {
            0 => writeln!(
                s,
                "def function_{b}(value, *args, limit={k}, **kwargs):\n    \"\"\"Return value, checked.\"\"\"\n    if value is None or value > limit:\n        raise ValueError(f'bad value {{value!r}} (limit {{limit}})')\n    return [value * i for i in range(len(args))]\n"
            ),
            1 => writeln!(
                s,
                "class Model{b}:\n    \"\"\"A model.\"\"\"\n\n    fields = ('id', 'name', 'size_{k}')\n\n    def __init__(self, **values):\n        for name in self.fields:\n            setattr(self, name, values.get(name))\n\n    def __repr__(self):\n        return f'Model{b}({{self.id!r}})'\n"
            ),
            2 => writeln!(
                s,
                "TABLE_{b} = {{\n    'alpha': {k},\n    'beta': [{k}, 'b', None],\n    'gamma': ('x', 'y', os.sep),\n}}\n"
            ),
            3 => writeln!(
                s,
                "async def fetch_{b}(client, url, retries={k}):\n    for attempt in range(retries):\n        try:\n            async with client.get(url) as response:\n                return await response.json()\n        except OSError:\n            continue\n    return None\n"
            ),
            _ => writeln!(
                s,
                "def parse_{b}(text):\n    match text.split():\n        case [word]:\n            return word\n        case [first, *rest]:\n            return first, {{w: len(w) for w in rest if w != '{k}'}}\n        case _:\n            return None\n"
            ),
        };
    }
}
