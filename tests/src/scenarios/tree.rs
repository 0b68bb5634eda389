//! The builder of scenario trees, also used by tests that build a tree in
//! a folder of their own.

use std::path::Path;

use super::{BASE_MTIME, Bytes, Entry, Mode, Node};

/// A tree under construction; each file's mtime is [`BASE_MTIME`] plus its
/// position, so every pyc header differs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tree(pub Vec<Entry>);

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    fn push(mut self, path: impl Into<Bytes>, node: Node) -> Tree {
        self.0.push(Entry {
            path: path.into(),
            node,
            mode: None,
        });
        self
    }

    /// Adds a file (missing parent folders are created, mode 0o755).
    pub fn file(self, path: impl Into<Bytes>, contents: impl Into<Bytes>) -> Tree {
        let mtime = BASE_MTIME + self.0.len() as i64;
        self.file_at(path, contents, mtime, 0)
    }

    /// Adds a file with this mtime (seconds, plus nanoseconds).
    pub fn file_at(
        self,
        path: impl Into<Bytes>,
        contents: impl Into<Bytes>,
        mtime: i64,
        mtime_nsec: u32,
    ) -> Tree {
        self.push(
            path,
            Node::File {
                contents: contents.into(),
                mtime,
                mtime_nsec,
            },
        )
    }

    /// Adds a folder (or only gives an existing one a mode).
    pub fn dir(self, path: impl Into<Bytes>) -> Tree {
        self.push(path, Node::Dir)
    }

    /// Adds a symbolic link.
    pub fn symlink(self, path: impl Into<Bytes>, target: impl Into<Bytes>) -> Tree {
        self.push(
            path,
            Node::Symlink {
                target: target.into(),
            },
        )
    }

    /// Adds a named pipe.
    pub fn fifo(self, path: impl Into<Bytes>) -> Tree {
        self.push(path, Node::Fifo)
    }

    /// Gives the last entry these permission bits.
    pub fn mode(mut self, mode: u32) -> Tree {
        self.0.last_mut().expect("an entry").mode = Some(Mode(mode));
        self
    }

    /// This tree followed by the entries of `other`.
    pub fn and(mut self, other: &Tree) -> Tree {
        self.0.extend(other.0.iter().cloned());
        self
    }

    /// Creates the tree under `root` (created if missing), as a scenario's
    /// tree is created, but with paths and contents taken literally:
    /// `{ROOT}`, `{OUT}` and `{TAG}` do not expand.
    pub fn build(&self, root: &Path) {
        std::fs::create_dir_all(root).unwrap_or_else(|e| panic!("creating {root:?}: {e}"));
        super::fs::build(root, &self.0, &|bytes| bytes.to_vec());
    }
}
