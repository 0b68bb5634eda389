//! Where the ruff parser's source ranges differ from the positions
//! CPython's parser gives the same nodes, the ranges are moved to
//! CPython's before compiling: code objects carry positions (line tables,
//! `co_firstlineno`), so they must agree.

use ruff_python_ast::visitor::transformer::{self, Transformer};
use ruff_python_ast::{ExceptHandler, Mod, Stmt};
use ruff_text_size::{TextRange, TextSize};

/// Moves the ranges of `module`, whose source is `text`.
pub fn to_cpython(module: &mut Mod, text: &str) {
    let mover = Mover { text };
    match module {
        Mod::Module(module) => {
            for stmt in &mut module.body {
                mover.visit_stmt(stmt);
            }
        }
        Mod::Expression(expression) => mover.visit_expr(&mut expression.body),
    }
}

struct Mover<'t> {
    text: &'t str,
}

impl Mover<'_> {
    /// A compound statement ends, in CPython, at the last token its rule
    /// consumed, which includes a `;` after its last simple statement
    /// (`def f(): x = 1;`); ruff ends it at that statement.
    fn through_semicolon(&self, range: &mut TextRange) {
        let end = usize::from(range.end());
        let rest = &self.text.as_bytes()[end..];
        let blanks = rest
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'\t'))
            .count();
        if rest.get(blanks) == Some(&b';') {
            let new_end = TextSize::try_from(end + blanks + 1).expect("source fits TextSize");
            *range = TextRange::new(range.start(), new_end);
        }
    }
}

impl Transformer for Mover<'_> {
    fn visit_stmt(&self, stmt: &mut Stmt) {
        transformer::walk_stmt(self, stmt);
        match stmt {
            Stmt::FunctionDef(node) => self.through_semicolon(&mut node.range),
            Stmt::ClassDef(node) => self.through_semicolon(&mut node.range),
            Stmt::For(node) => self.through_semicolon(&mut node.range),
            Stmt::While(node) => self.through_semicolon(&mut node.range),
            Stmt::With(node) => self.through_semicolon(&mut node.range),
            Stmt::Match(node) => self.through_semicolon(&mut node.range),
            Stmt::Try(node) => self.through_semicolon(&mut node.range),
            Stmt::If(node) => {
                self.through_semicolon(&mut node.range);
                for clause in &mut node.elif_else_clauses {
                    self.through_semicolon(&mut clause.range);
                }
            }
            _ => {}
        }
    }

    fn visit_except_handler(&self, handler: &mut ExceptHandler) {
        transformer::walk_except_handler(self, handler);
        let ExceptHandler::ExceptHandler(node) = handler;
        self.through_semicolon(&mut node.range);
    }
}
