"""maturin's PEP 517 build backend, with cargo's `--ignore-rust-version`.

Why this file exists: the native backend's parser crates (rustpython-ruff_*
0.16.5) declare `rust-version = "1.96"` but compile with Rust 1.95, and
cargo refuses them unless it is given `--ignore-rust-version`
(docs/architecture.md, "Why the ruff-based RustPython parser"). The cargo
aliases in .cargo/config.toml pass it for `cargo b`/`t`/`r`; maturin runs
cargo itself, and its `[tool.maturin]` table has no setting for the flag.
Its PEP 517 hooks do take extra `maturin` arguments, from the
`maturin.build-args` config setting or `MATURIN_PEP517_ARGS`, so this module
adds the flag to whatever those already hold and hands over to maturin.

When the toolchain reaches Rust 1.96, delete this folder and, in
pyproject.toml, `backend-path` and set `build-backend = "maturin"`.
"""

import maturin
from maturin import (  # noqa: F401 (hooks re-exported unchanged)
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
)

FLAG = "--ignore-rust-version"


def _with_flag(config_settings):
    """The config settings, with FLAG among maturin's build arguments."""
    args = list(maturin.get_maturin_pep517_args(config_settings))
    if FLAG not in args:
        args.append(FLAG)
    return {**(config_settings or {}), "maturin.build-args": args}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return maturin.build_wheel(wheel_directory, _with_flag(config_settings), metadata_directory)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return maturin.build_editable(wheel_directory, _with_flag(config_settings), metadata_directory)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return maturin.prepare_metadata_for_build_wheel(metadata_directory, _with_flag(config_settings))


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return maturin.prepare_metadata_for_build_editable(metadata_directory, _with_flag(config_settings))
