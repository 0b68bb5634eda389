//! The `popular` corpus: pure-Python packages that real environments hold,
//! at pinned versions, downloaded from the package index as wheels and
//! unpacked as an installer would (`site-packages/<package>/...`).
//!
//! Each wheel is fetched by pip (`--require-hashes`, so a changed file on
//! the index is refused) into `.cache/popular-wheels/`, which later runs
//! reuse; nothing of it is committed.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// A pinned wheel: requirement and the SHA-256 of the file the index
/// served when it was pinned.
struct Wheel {
    requirement: &'static str,
    sha256: &'static str,
}

/// Seventeen packages, 1,499 sources: installers, HTTP, templating, CLI,
/// parsing, highlighting, documentation, dates. Some carry the large
/// literal tables (Unicode data, lexer keyword lists, emoji names) that
/// real trees hold.
const WHEELS: &[Wheel] = &[
    Wheel {
        requirement: "pip==24.2",
        sha256: "2cd581cf58ab7fcfca4ce8efa6dcacd0de5bf8d0a3eb9ec927e07405f4d9e2a2",
    },
    Wheel {
        requirement: "setuptools==75.1.0",
        sha256: "35ab7fd3bcd95e6b7fd704e4a1539513edad446c097797f2985e0e4b960772f2",
    },
    Wheel {
        requirement: "requests==2.32.3",
        sha256: "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6",
    },
    Wheel {
        requirement: "urllib3==2.2.3",
        sha256: "ca899ca043dcb1bafa3e262d73aa25c465bfb49e0bd9dd5d59f1d0acba2f8fac",
    },
    Wheel {
        requirement: "idna==3.10",
        sha256: "946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3",
    },
    Wheel {
        requirement: "certifi==2024.8.30",
        sha256: "922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8",
    },
    Wheel {
        requirement: "six==1.16.0",
        sha256: "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    },
    Wheel {
        requirement: "attrs==24.2.0",
        sha256: "81921eb96de3191c8258c199618104dd27ac608d9366f5e35d011eae1867ede2",
    },
    Wheel {
        requirement: "click==8.1.7",
        sha256: "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28",
    },
    Wheel {
        requirement: "jinja2==3.1.4",
        sha256: "bc5dd2abb727a5319567b7a813e6a2e7318c39f4f487cfe6c89c6f9c7d25197d",
    },
    Wheel {
        requirement: "packaging==24.1",
        sha256: "5b8f2217dbdbd2f7f384c41c628544e6d52f2d0f53c6d0c3ea61aa5d1d7ff124",
    },
    Wheel {
        requirement: "pyparsing==3.1.4",
        sha256: "a6a7ee4235a3f944aa1fa2249307708f893fe5717dc603503c6c7969c070fb7c",
    },
    Wheel {
        requirement: "pygments==2.18.0",
        sha256: "b8e6aca0523f3ab76fee51799c488e38782ac06eafcf95e7ba832985c8e7b13a",
    },
    Wheel {
        requirement: "rich==13.9.2",
        sha256: "8c82a3d3f8dcfe9e734771313e606b39d8247bb6b826e196f4914b333b743cf1",
    },
    Wheel {
        requirement: "docutils==0.21.2",
        sha256: "dafca5b9e384f0e419294eb4d2ff9fa826435bf15f15b7bd45723e8ad76811b2",
    },
    Wheel {
        requirement: "python-dateutil==2.9.0.post0",
        sha256: "a8b2bc7bffae282281c8140a97d3aa9c14da0b136dfe83f850eea9a5f7470427",
    },
    Wheel {
        requirement: "pytz==2024.2",
        sha256: "31c7c1817eb7fae7ca4b8c7ee50c72f93aa2dd863de768e1ef4245d426aa0725",
    },
];

/// Downloads (or reuses) the pinned wheels and unpacks them all into
/// `dest`, as one `site-packages`.
pub fn build(dest: &Path) -> Result<()> {
    let wheels = compileall_tests::workspace_root().join(".cache/popular-wheels");
    download(&wheels)?;
    fs_err::create_dir_all(dest)?;
    for entry in fs_err::read_dir(&wheels)? {
        let wheel = entry?.path();
        if wheel.extension().is_some_and(|e| e == "whl") {
            python(&["-m", "zipfile", "-e"], &[&wheel, dest])?;
        }
    }
    Ok(())
}

/// `pip download` of every wheel, checked against its pinned hash.
fn download(dir: &Path) -> Result<()> {
    fs_err::create_dir_all(dir)?;
    let requirements = dir.join("requirements.txt");
    let listing: String = WHEELS
        .iter()
        .map(|wheel| format!("{} --hash=sha256:{}\n", wheel.requirement, wheel.sha256))
        .collect();
    fs_err::write(&requirements, listing)?;
    python(
        &[
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "--disable-pip-version-check",
            "-d",
        ],
        &[dir, Path::new("-r"), &requirements],
    )
}

/// Runs the host's `python3` with `args` then `paths`.
fn python(args: &[&str], paths: &[&Path]) -> Result<()> {
    let status = Command::new("python3").args(args).args(paths).status()?;
    if !status.success() {
        bail!("python3 {} {paths:?} failed ({status})", args.join(" "));
    }
    Ok(())
}
