//! [`TerminalSink`]: a run's output on the real stdout and stderr, with a
//! progress bar on stderr when it is a terminal.

use std::io::{BufWriter, IsTerminal, Stdout, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::options::Quiet;
use crate::output::{Chunk, Sink, Stream};

/// Writes the run's output to the real stdout and stderr, with a progress
/// bar on stderr when it is a terminal.
pub(crate) struct TerminalSink<'c> {
    stdout: BufWriter<Stdout>,
    stdout_is_terminal: bool,
    bar: Option<ProgressBar>,
    /// Drop what would go to stdout (a report is printed there instead).
    stdout_suppressed: bool,
    /// The bytecode cache, whose counts the bar shows.
    cache: Option<&'c pyc_cache::Cache>,
}

impl<'c> TerminalSink<'c> {
    /// A sink for a run printing at `quiet`; the bar shows only when
    /// compileall prints its progress.
    pub fn new(quiet: Quiet, stdout_suppressed: bool, cache: Option<&'c pyc_cache::Cache>) -> Self {
        let bar = (quiet.prints_progress() && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} compiling {pos}/{len} [{elapsed}] {wide_bar} {msg}",
                )
                .expect("valid template"),
            );
            bar
        });
        TerminalSink {
            stdout: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            stdout_is_terminal: std::io::stdout().is_terminal(),
            bar,
            stdout_suppressed,
            cache,
        }
    }

    /// Clears the bar and flushes stdout.
    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let _ = self.stdout.flush();
    }

    fn emit(&mut self, chunk: &Chunk) {
        match chunk.stream {
            Stream::Stdout if self.stdout_suppressed => {}
            Stream::Stdout => {
                let _ = self.stdout.write_all(&chunk.bytes);
                if self.stdout_is_terminal {
                    let _ = self.stdout.flush();
                }
            }
            Stream::Stderr => {
                // Keep the relative order of the two streams.
                let _ = self.stdout.flush();
                let _ = std::io::stderr().write_all(&chunk.bytes);
            }
        }
    }
}

impl Sink for TerminalSink<'_> {
    fn write(&mut self, chunk: &Chunk) {
        match self.bar.clone() {
            Some(bar) if self.stdout_is_terminal || chunk.stream == Stream::Stderr => {
                bar.suspend(|| self.emit(chunk))
            }
            _ => self.emit(chunk),
        }
    }

    fn progress(&mut self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
            if let Some(cache) = self.cache {
                let stats = cache.stats();
                bar.set_message(format!(
                    "cache: {} hits, {} misses, {} stored",
                    stats.hits, stats.misses, stats.stores
                ));
            }
        }
    }
}
