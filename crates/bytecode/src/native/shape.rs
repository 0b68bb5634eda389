//! Checks on the syntax tree for sources the native compiler would make
//! slowly or differently from CPython. Runs after [`screen`](super::screen)
//! has bounded the tree's depth, so the recursive walk is safe.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, ExprCall, InterpolatedStringElement, Mod, Stmt};
use ruff_text_size::Ranged;

/// Why the tree sends a source to CPython.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One scope holds more literals than the native compiler pools in
    /// reasonable time: its constant pool compares each new constant with
    /// every earlier one, quadratic where CPython's is linear.
    ManyConstants,
    /// An f-string `=` debug field whose text holds a comment: CPython
    /// keeps the comment in the printed text, rustpython-codegen drops it.
    DebugFieldComment,
    /// `all`/`any`/`tuple` of an asynchronous generator expression:
    /// rustpython-codegen inlines the loop, CPython 3.14 calls the builtin.
    AsyncGeneratorCall,
    /// An f-string replacement field nested two deep in format specs:
    /// CPython refuses a third level ("expressions nested too deeply").
    NestedFormatSpec,
    /// A docstring with a line break other than `\n` (`"\r"`): CPython
    /// and rustpython-codegen clean such docstrings differently.
    DocstringLineBreak,
    /// `global __doc__` in a function: CPython then stores the module's
    /// docstring with `STORE_GLOBAL`, rustpython-codegen with `STORE_NAME`.
    GlobalDoc,
    /// An assignment expression inside a list, set or dict comprehension
    /// at module level: rustpython-codegen marks the inlined
    /// comprehension's variables differently from CPython there (in
    /// functions and classes it agrees).
    WalrusInComprehension,
    /// Under `-OO`, a body that is only a docstring whose first line is
    /// shorter than four bytes from its start: both compilers put a `pass`
    /// four columns long in its place, but rustpython-codegen measures it
    /// in bytes of the source, across the line end.
    ShortDocstringBody,
}

impl Shape {
    /// A short description, for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::ManyConstants => "too many constants in one scope for the native compiler",
            Shape::DebugFieldComment => "f-string debug field with a comment",
            Shape::AsyncGeneratorCall => "all/any/tuple of an async generator expression",
            Shape::NestedFormatSpec => "f-string format spec nested two deep",
            Shape::DocstringLineBreak => "docstring with an unusual line break",
            Shape::WalrusInComprehension => "assignment expression in a module-level comprehension",
            Shape::GlobalDoc => "global __doc__",
            Shape::ShortDocstringBody => "body of only a short-lined docstring under -OO",
        }
    }
}

/// The pooling work one scope may cost: literals in the scope times the
/// distinct ones among them (each literal is compared with every distinct
/// constant pooled before it). At 4,000,000 (2,000 distinct literals) the
/// native compile of a file that is nothing but such a table takes about
/// 8 ms where CPython's takes 1 to 2 ms; beyond, the gap grows
/// quadratically (see docs/native.md).
pub const MAX_POOL_WORK: usize = 4_000_000;

/// Checks `module`, whose source is `text`, for compiling at `optimize`.
pub fn check(module: &Mod, text: &str, optimize: u8) -> Result<(), Shape> {
    let mut checker = Checker {
        text,
        strips_docstrings: optimize >= 2,
        scopes: vec![ScopeLiterals::default()],
        problem: None,
    };
    match module {
        Mod::Module(module) => {
            checker.check_docstring_body(&module.body);
            checker.visit_body(&module.body);
        }
        Mod::Expression(expression) => checker.visit_expr(&expression.body),
    }
    checker.problem.map_or(Ok(()), Err)
}

struct Checker<'t> {
    text: &'t str,
    /// `-OO`: docstrings are removed.
    strips_docstrings: bool,
    /// The literals of the scopes being walked, innermost last.
    scopes: Vec<ScopeLiterals<'t>>,
    problem: Option<Shape>,
}

/// The literals met in one scope, which its constant pool will hold.
#[derive(Default)]
struct ScopeLiterals<'t> {
    count: usize,
    /// Their source texts: equal texts are one constant.
    distinct: std::collections::HashSet<&'t str>,
}

impl<'t> Checker<'t> {
    fn count_literal(&mut self, literal: &Expr) {
        let scope = self.scopes.last_mut().expect("the module scope");
        scope.count += 1;
        scope.distinct.insert(&self.text[literal.range()]);
        if scope.count * scope.distinct.len() > MAX_POOL_WORK {
            self.problem.get_or_insert(Shape::ManyConstants);
        }
    }

    fn check_docstring_body(&mut self, body: &[Stmt]) {
        if let Some(Stmt::Expr(statement)) = body.first()
            && let Expr::StringLiteral(literal) = &*statement.value
            && literal.value.to_str().contains(UNUSUAL_LINE_BREAKS)
        {
            self.problem.get_or_insert(Shape::DocstringLineBreak);
        }
        let [Stmt::Expr(statement)] = body else {
            return;
        };
        if !self.strips_docstrings || !statement.value.is_string_literal_expr() {
            return;
        }
        let start = usize::from(statement.range().start());
        let pass = self.text.get(start..start + 4);
        if pass.is_none_or(|pass| pass.contains('\n')) {
            self.problem.get_or_insert(Shape::ShortDocstringBody);
        }
    }

    fn in_scope(&mut self, walk: impl FnOnce(&mut Self)) {
        self.scopes.push(ScopeLiterals::default());
        walk(self);
        self.scopes.pop();
    }
}

impl<'a> Visitor<'a> for Checker<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.problem.is_some() {
            return;
        }
        match stmt {
            Stmt::Global(global) if global.names.iter().any(|name| name.as_str() == "__doc__") => {
                self.problem.get_or_insert(Shape::GlobalDoc);
            }
            Stmt::FunctionDef(function) => {
                self.check_docstring_body(&function.body);
                self.in_scope(|checker| visitor::walk_stmt(checker, stmt));
            }
            Stmt::ClassDef(class) => {
                self.check_docstring_body(&class.body);
                self.in_scope(|checker| visitor::walk_stmt(checker, stmt));
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.problem.is_some() {
            return;
        }
        match expr {
            Expr::NumberLiteral(_) | Expr::BytesLiteral(_) | Expr::StringLiteral(_) => {
                self.count_literal(expr);
                visitor::walk_expr(self, expr);
            }
            Expr::Call(call) if inlined_async_generator(call) => {
                self.problem.get_or_insert(Shape::AsyncGeneratorCall);
            }
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_)
                if self.scopes.len() == 1 && has_walrus(expr) =>
            {
                self.problem.get_or_insert(Shape::WalrusInComprehension);
            }
            Expr::Lambda(_) | Expr::Generator(_) => {
                self.in_scope(|checker| visitor::walk_expr(checker, expr));
            }
            _ => visitor::walk_expr(self, expr),
        }
    }

    fn visit_interpolated_string_element(&mut self, element: &'a InterpolatedStringElement) {
        if let InterpolatedStringElement::Interpolation(interpolation) = element {
            if interpolation.debug_text.is_some() && self.text[interpolation.range()].contains('#')
            {
                self.problem.get_or_insert(Shape::DebugFieldComment);
            }
            if format_spec_depth(interpolation) >= 2 {
                self.problem.get_or_insert(Shape::NestedFormatSpec);
            }
        }
        visitor::walk_interpolated_string_element(self, element);
    }
}

/// Characters other than `\n` that some line splitting treats as a break.
const UNUSUAL_LINE_BREAKS: &[char] = &[
    '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
];

/// How deep replacement fields nest inside `interpolation`'s format spec.
fn format_spec_depth(interpolation: &ruff_python_ast::InterpolatedElement) -> usize {
    interpolation.format_spec.as_ref().map_or(0, |spec| {
        1 + spec
            .elements
            .iter()
            .filter_map(|element| match element {
                InterpolatedStringElement::Interpolation(inner) => Some(format_spec_depth(inner)),
                InterpolatedStringElement::Literal(_) => None,
            })
            .max()
            .unwrap_or(0)
    })
}

/// Whether an expression holds an assignment expression anywhere.
fn has_walrus(expr: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            self.0 |= matches!(expr, Expr::Named(_));
            visitor::walk_expr(self, expr);
        }
    }
    let mut finder = Finder(false);
    visitor::walk_expr(&mut finder, expr);
    finder.0
}

/// A call rustpython-codegen inlines (`all`, `any` or `tuple` of one
/// generator expression) whose generator is asynchronous: it awaits or
/// iterates asynchronously anywhere inside.
fn inlined_async_generator(call: &ExprCall) -> bool {
    let Expr::Name(name) = &*call.func else {
        return false;
    };
    let [generator @ Expr::Generator(_)] = &call.arguments.args[..] else {
        return false;
    };
    if !call.arguments.keywords.is_empty() || !matches!(name.id.as_str(), "all" | "any" | "tuple") {
        return false;
    }
    let mut finder = AsyncFinder { found: false };
    finder.visit_expr(generator);
    finder.found
}

/// Whether an expression awaits or iterates asynchronously.
struct AsyncFinder {
    found: bool,
}

impl<'a> Visitor<'a> for AsyncFinder {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if matches!(expr, Expr::Await(_)) {
            self.found = true;
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_comprehension(&mut self, comprehension: &'a ruff_python_ast::Comprehension) {
        self.found |= comprehension.is_async;
        visitor::walk_comprehension(self, comprehension);
    }
}
