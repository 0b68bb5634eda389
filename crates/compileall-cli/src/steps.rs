//! The prepare phase of a run: every visit turned into a [`Step`], in
//! parallel and in CPython's order, before anything is compiled.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use crate::context::Context;
use crate::output::Chunk;
use crate::prepare::{self, Decision, Prepared};
use crate::pyerror::PyException;
use crate::visit::Visit;

/// One thing the run does, in CPython's order.
pub(crate) enum Step {
    /// Print a line.
    Line(Chunk),
    /// `compile_file` on one path.
    File(Box<Prepared>),
    /// An exception escapes compileall here.
    Raise(PyException),
}

impl Step {
    /// Whether compileall raises at this step (nothing after it happens).
    pub fn raises(&self) -> bool {
        match self {
            Step::Raise(_) => true,
            Step::File(prepared) => matches!(prepared.decision, Decision::Raise(_)),
            Step::Line(_) => false,
        }
    }
}

/// Prepares every visit, in parallel; the steps keep the visits' order.
pub(crate) fn prepare_all(ctx: &Context<'_>, visits: Vec<Visit>) -> Vec<Step> {
    visits
        .into_par_iter()
        .map(|visit| match visit {
            Visit::Listing(dir) => Step::Line(ctx.line(format!("Listing {}...", ctx.repr(&dir)))),
            Visit::CantList(dir) => Step::Line(ctx.line(format!("Can't list {}", ctx.repr(&dir)))),
            Visit::File(source) => Step::File(Box::new(prepare::prepare(ctx, source))),
            Visit::Raise(exception) => Step::Raise(exception),
        })
        .collect()
}

/// Removes the temporary files that killed runs left in the folders this
/// run writes to and the walk did not sweep (those of files named on the
/// command line, and everything under a `pycache_prefix`), so that an
/// interruption leaves nothing behind after the next run.
pub(crate) fn sweep_leftovers(steps: &[Step]) {
    let dirs: HashSet<&Path> = steps
        .iter()
        .filter_map(|step| match step {
            Step::File(prepared) if !prepared.cache_dir_swept() => prepared.cache_dir.as_deref(),
            _ => None,
        })
        .collect();
    dirs.into_par_iter().for_each(|dir| {
        let _ = atomic_file::sweep(dir, b".pyc");
    });
}
