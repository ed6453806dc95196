//! Guards against hostile GraphQL documents, applied before and right after parsing, and
//! the per-request connection bound.
//!
//! - **Nesting** ([`check_nesting`]): async-graphql's parser recurses once per `[`/`{`/`(`
//!   level of a value without a limit, so `{ x(a: [[[[…]]]]) }` a few thousand deep
//!   overflows the stack and aborts the process. One pass over the bytes, outside strings,
//!   block strings and comments, refuses more than [`MAX_NESTING`] open brackets before any
//!   parsing (`NESTING_TOO_DEEP`). Everything recursive in parsing, validation and
//!   execution that follows the text's nesting is then bounded by it.
//! - **Fragments** ([`check_document`]): fragment spreads nest without brackets. Chains
//!   longer than [`MAX_FRAGMENT_DEPTH`] are refused (`NESTING_TOO_DEEP`), so are cycles
//!   (`GRAPHQL_VALIDATION_FAILED`: async-graphql's depth check would walk a branching cycle
//!   exponentially), and documents that expand to more than [`MAX_SELECTIONS`] selections
//!   once fragments are inlined (`DOCUMENT_TOO_LARGE`: a tree of fragments each spreading
//!   the next twice is tiny as text and huge when inlined).
//! - **Root fields** ([`check_document`], [`Guard`]): at most [`MAX_ROOT_FIELDS`] per
//!   operation, aliases and fragments included (`TOO_MANY_ROOT_FIELDS`); each costs
//!   [`ROOT_FIELD_COST`] on top of the complexity of its selection, since most of them each
//!   run statements of their own; and one request resolves at most
//!   [`CONNECTIONS_PER_REQUEST`] root fields at a time, so it cannot take the whole pool.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use async_graphql::{
    ObjectType, Pos, Schema, SchemaBuilder, ServerError, ServerResult, SubscriptionType, ValidationResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, NextValidation, ResolveInfo},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};
use tokio::sync::Semaphore;

/// Deepest nesting of `[`, `{` and `(` outside strings and comments.
pub const MAX_NESTING: usize = 64;
/// Longest chain of fragments spreading one another.
pub const MAX_FRAGMENT_DEPTH: usize = 32;
/// Most selections (fields, spreads, inline fragments) a document may expand to once its
/// fragments are inlined, counting operations and fragment definitions.
pub const MAX_SELECTIONS: u64 = 10_000;
/// Most root fields in one operation, aliases and fragments included.
pub const MAX_ROOT_FIELDS: usize = 50;
/// What each root field adds to the complexity of its selection.
pub const ROOT_FIELD_COST: usize = 50;
/// Root fields of one request resolved at the same time (each may hold a connection).
pub const CONNECTIONS_PER_REQUEST: usize = 4;

/// Why a document is refused before execution: a request error with `code`.
#[derive(Debug)]
pub struct Rejection {
    /// `extensions.code` of the error.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// Where, if known.
    pub pos: Option<Pos>,
}

impl Rejection {
    /// The error as the response carries it.
    pub fn error(&self) -> ServerError {
        ServerError::new(self.message.clone(), self.pos)
    }
}

/// Refuses `query` if brackets nest deeper than [`MAX_NESTING`] outside strings, block
/// strings and comments. One pass over the bytes, no allocation.
pub fn check_nesting(query: &str) -> Result<(), Rejection> {
    let b = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                // A comment runs to the end of the line.
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                // A block string: only `\"""` escapes; it ends at the next `"""`.
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2; // the closing quotes (the loop's `+= 1` takes the third)
            }
            b'"' => {
                // A string ends at an unescaped quote; a line break ends an unterminated
                // one (the parser refuses it there, so what follows is never nested into).
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' && b[i] != b'\r' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(Rejection {
                        code: "NESTING_TOO_DEEP",
                        message: format!("brackets nest deeper than {MAX_NESTING}"),
                        pos: Some(position(query, i)),
                    });
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Line and column (1-based, in characters) of byte `offset`.
fn position(text: &str, offset: usize) -> Pos {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    Pos {
        line: before.split(|&c| c == b'\n').count(),
        column,
    }
}

/// Parses `query` safely: refuses deep nesting before the parser sees it
/// ([`check_nesting`]), then checks the document ([`check_document`]). Returns the document
/// and the most root fields of its operations; syntax errors are `GRAPHQL_PARSE_FAILED`.
pub fn parse(query: &str) -> Result<(ExecutableDocument, usize), Rejection> {
    check_nesting(query)?;
    let doc = async_graphql::parser::parse_query(query).map_err(|e| {
        let e = syntax_error(&e.into());
        Rejection {
            code: "GRAPHQL_PARSE_FAILED",
            message: e.message,
            pos: e.locations.first().copied(),
        }
    })?;
    let roots = check_document(&doc)?;
    Ok((doc, roots))
}

/// A parse error as one readable line with its location (the parser's own message is a
/// multi-line source excerpt ending in `= expected …`).
fn syntax_error(e: &ServerError) -> ServerError {
    let pos = e.locations.first().copied();
    let detail = e
        .message
        .lines()
        .rev()
        .map(|l| l.trim().trim_start_matches("= ").trim())
        .find(|l| !l.is_empty())
        .unwrap_or("invalid syntax")
        .to_owned();
    let message = match pos {
        Some(p) => format!("syntax error at line {}, column {}: {detail}", p.line, p.column),
        None => format!("syntax error: {detail}"),
    };
    ServerError::new(message, pos)
}

/// What a selection set holds before its fragment spreads are followed.
struct Shape<'a> {
    /// Every selection, at any depth.
    selections: u64,
    /// Fields at the top (inline fragments flattened).
    top_fields: u64,
    /// Spreads with whether they are at the top.
    spreads: Vec<(&'a str, bool)>,
}

fn shape(set: &SelectionSet) -> Shape<'_> {
    let mut out = Shape {
        selections: 0,
        top_fields: 0,
        spreads: Vec::new(),
    };
    // Explicit stack: the text's nesting is bounded already, but this needs no stack at all.
    let mut stack = vec![(set, true)];
    while let Some((set, top)) = stack.pop() {
        for item in &set.items {
            out.selections += 1;
            match &item.node {
                Selection::Field(f) => {
                    out.top_fields += u64::from(top);
                    stack.push((&f.node.selection_set.node, false));
                }
                Selection::InlineFragment(f) => stack.push((&f.node.selection_set.node, top)),
                Selection::FragmentSpread(s) => out.spreads.push((s.node.fragment_name.node.as_str(), top)),
            }
        }
    }
    out
}

/// A fragment, or an operation, with its spreads followed.
#[derive(Clone, Copy, Default)]
struct Expanded {
    /// Longest chain of spreads below.
    depth: usize,
    /// Selections once inlined (saturating).
    selections: u64,
    /// Top-level fields once inlined (saturating).
    top_fields: u64,
}

impl Expanded {
    fn of(shape: &Shape<'_>, done: &HashMap<&str, Expanded>) -> Expanded {
        let mut e = Expanded {
            depth: 0,
            selections: shape.selections,
            top_fields: shape.top_fields,
        };
        for (name, top) in &shape.spreads {
            // Unknown fragments are left to validation.
            if let Some(f) = done.get(name) {
                e.depth = e.depth.max(f.depth + 1);
                e.selections = e.selections.saturating_add(f.selections);
                if *top {
                    e.top_fields = e.top_fields.saturating_add(f.top_fields);
                }
            }
        }
        e
    }
}

/// Refuses a parsed document whose fragments chain deeper than [`MAX_FRAGMENT_DEPTH`] or
/// form a cycle, that expands to more than [`MAX_SELECTIONS`] selections, or with an
/// operation of more than [`MAX_ROOT_FIELDS`] root fields. Returns the most root fields of
/// any of its operations. Linear in the document: fragments are expanded once each.
pub fn check_document(doc: &ExecutableDocument) -> Result<usize, Rejection> {
    let shapes: HashMap<&str, (Shape<'_>, Pos)> = doc
        .fragments
        .iter()
        .map(|(name, f)| (name.as_str(), (shape(&f.node.selection_set.node), f.pos)))
        .collect();
    // Fragments in post-order (spreads first), without recursion.
    let mut done: HashMap<&str, Expanded> = HashMap::with_capacity(shapes.len());
    let mut on_path: HashSet<&str> = HashSet::new();
    for &start in shapes.keys() {
        if done.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        on_path.insert(start);
        while let Some((name, next)) = stack.last_mut() {
            let (shape, pos) = &shapes[*name];
            if let Some((child, _)) = shape.spreads.get(*next) {
                *next += 1;
                if on_path.contains(child) {
                    return Err(Rejection {
                        code: "GRAPHQL_VALIDATION_FAILED",
                        message: format!("Cannot spread fragment \"{child}\" within itself"),
                        pos: Some(*pos),
                    });
                }
                if shapes.contains_key(child) && !done.contains_key(child) {
                    on_path.insert(child);
                    stack.push((child, 0));
                }
                continue;
            }
            let e = Expanded::of(shape, &done);
            if e.depth > MAX_FRAGMENT_DEPTH {
                return Err(Rejection {
                    code: "NESTING_TOO_DEEP",
                    message: format!("fragments spread one another deeper than {MAX_FRAGMENT_DEPTH}"),
                    pos: Some(*pos),
                });
            }
            on_path.remove(*name);
            done.insert(*name, e);
            stack.pop();
        }
    }
    let mut total = done.values().fold(0u64, |sum, e| sum.saturating_add(e.selections));
    let mut most_roots = 0;
    let mut crowded = None;
    for (_, op) in doc.operations.iter() {
        let e = Expanded::of(&shape(&op.node.selection_set.node), &done);
        total = total.saturating_add(e.selections);
        if e.depth > MAX_FRAGMENT_DEPTH {
            return Err(Rejection {
                code: "NESTING_TOO_DEEP",
                message: format!("fragments spread one another deeper than {MAX_FRAGMENT_DEPTH}"),
                pos: Some(op.pos),
            });
        }
        if e.top_fields > MAX_ROOT_FIELDS as u64 {
            crowded = Some(op.pos);
        }
        most_roots = most_roots.max(usize::try_from(e.top_fields).unwrap_or(usize::MAX));
    }
    if total > MAX_SELECTIONS {
        return Err(Rejection {
            code: "DOCUMENT_TOO_LARGE",
            message: format!("the document expands to more than {MAX_SELECTIONS} selections"),
            pos: None,
        });
    }
    if let Some(pos) = crowded {
        return Err(Rejection {
            code: "TOO_MANY_ROOT_FIELDS",
            message: format!("an operation may select at most {MAX_ROOT_FIELDS} root fields, aliases included"),
            pos: Some(pos),
        });
    }
    Ok(most_roots)
}

/// The two schemas of an endpoint: requests with one root field run on `plain`, those
/// with several on `guarded` (see [`Guard`]).
pub struct Schemas<E> {
    /// No extension; the complexity limit lowered by one [`ROOT_FIELD_COST`].
    pub plain: E,
    /// Under [`Guard`].
    pub guarded: E,
}

impl<Q, M, S> Schemas<Schema<Q, M, S>>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Both schemas from `builder` (which attaches the shared data), with a complexity
    /// limit of `max_complexity` counting [`ROOT_FIELD_COST`] per root field.
    pub fn build(max_complexity: usize, builder: impl Fn() -> SchemaBuilder<Q, M, S>) -> Self {
        Schemas {
            plain: builder()
                .limit_complexity(max_complexity.saturating_sub(ROOT_FIELD_COST))
                .finish(),
            guarded: builder()
                .limit_complexity(max_complexity)
                .extension(Guard { max_complexity })
                .finish(),
        }
    }
}

/// The number of root fields of the request's document (request data for [`Guard`]).
#[derive(Clone, Copy, Debug)]
pub struct RootFields(pub usize);

/// The extension that requests with several root fields run under: each root field adds
/// [`ROOT_FIELD_COST`] to the complexity, checked against the schema's limit, and at most
/// [`CONNECTIONS_PER_REQUEST`] root fields resolve at once. Requests with one root field
/// run on a schema without it (an extension costs every field of every request a detour),
/// whose complexity limit is lowered by one [`ROOT_FIELD_COST`] instead.
pub struct Guard {
    /// The complexity limit the root-field cost counts against.
    pub max_complexity: usize,
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension {
            max_complexity: self.max_complexity,
            permits: Semaphore::new(CONNECTIONS_PER_REQUEST),
        })
    }
}

struct GuardExtension {
    max_complexity: usize,
    permits: Semaphore,
}

#[async_graphql::async_trait::async_trait]
impl Extension for GuardExtension {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        let roots = ctx.data_opt::<RootFields>().map_or(1, |r| r.0);
        let cost = result.complexity.saturating_add(roots.saturating_mul(ROOT_FIELD_COST));
        if cost > self.max_complexity {
            // async-graphql's own message for its complexity limit.
            return Err(vec![ServerError::new("Query is too complex.", None)]);
        }
        Ok(result)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        // Never closed, so acquiring cannot fail; if it did, resolving unbounded is the
        // lesser evil than failing the field.
        let _permit = self.permits.acquire().await.ok();
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, n: usize) -> String {
        format!("{{ x(a: {}1{}) }}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        // `{` and `(` of the document itself count: 2 + 62 = 64 is the most.
        assert!(check_nesting(&nested("[", "]", 62)).is_ok());
        let err = check_nesting(&nested("[", "]", 63)).expect_err("65 deep");
        assert_eq!(err.code, "NESTING_TOO_DEEP");
        assert_eq!(err.pos.map(|p| (p.line, p.column)), Some((1, 70)));
        assert!(check_nesting(&nested("{a: ", "}", 63)).is_err());
        let deep = "[".repeat(10_000);
        for hidden in [
            format!("{{ x(a: \"{deep}\") }}"),
            format!("{{ x(a: \"\\\"{deep}\") }}"),
            format!("{{ x(a: \"\"\"{deep} \\\"\"\" \"\" \"\"\") }}"),
            format!("# {deep}\n{{ x }}"),
        ] {
            assert!(check_nesting(&hidden).is_ok(), "{}", &hidden[..12]);
        }
        // A string ends at a line break; a block string at its closing quotes.
        assert!(check_nesting(&format!("{{ x(a: \"abc\n{deep}")).is_err());
        assert!(check_nesting(&format!("{{ x(a: \"\"\"abc\"\"\" {deep}")).is_err());
        // Unbalanced closers don't lower the count below zero.
        assert!(check_nesting(&format!("{}{}", "]".repeat(100), &deep[..65])).is_err());
    }

    #[test]
    fn fragments_are_expanded_once_each() {
        let chain = |n: usize| {
            std::iter::once("{ ...F0 }\n".to_owned())
                .chain((0..n).map(|i| format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1)))
                .chain(std::iter::once(format!("fragment F{n} on Query {{ __typename }}\n")))
                .collect::<String>()
        };
        let doc = |q: &str| async_graphql::parser::parse_query(q).expect("parses");
        // The operation's spread is the first link.
        assert!(check_document(&doc(&chain(MAX_FRAGMENT_DEPTH - 1))).is_ok());
        for n in [MAX_FRAGMENT_DEPTH, 1000] {
            assert_eq!(
                check_document(&doc(&chain(n))).expect_err("too deep").code,
                "NESTING_TOO_DEEP"
            );
        }
        // Each spreading the next twice: 2^30 selections inlined.
        let mut tree: String = std::iter::once("{ ...F0 }\n".to_owned())
            .chain((0..30).map(|i| format!("fragment F{i} on Query {{ ...F{j} ...F{j} }}\n", j = i + 1)))
            .collect();
        tree.push_str("fragment F30 on Query { __typename }");
        assert_eq!(
            check_document(&doc(&tree)).expect_err("huge").code,
            "DOCUMENT_TOO_LARGE"
        );
        let cycle = "{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...A ...A }";
        assert_eq!(
            check_document(&doc(cycle)).expect_err("cycle").code,
            "GRAPHQL_VALIDATION_FAILED"
        );
    }

    #[test]
    fn root_fields_count_aliases_and_fragments() {
        let fields = |n: usize| {
            (0..n)
                .map(|i| format!("a{i}: shop {{ name }}"))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let doc = |q: &str| async_graphql::parser::parse_query(q).expect("parses");
        assert_eq!(check_document(&doc(&format!("{{ {} }}", fields(50)))).ok(), Some(50));
        let q = format!(
            "{{ ...F ... on Query {{ {} }} }} fragment F on Query {{ {} }}",
            fields(25),
            fields(26)
        );
        assert_eq!(check_document(&doc(&q)).expect_err("51").code, "TOO_MANY_ROOT_FIELDS");
    }
}
