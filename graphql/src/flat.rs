//! Objects and lists whose selection needs no future, answered as JSON text.
//!
//! async-graphql resolves every field of every object as its own boxed future into a tree of
//! values, which is then serialised and freed: about a microsecond and a hundred bytes a
//! field. A listing of 20 products with their pictures and variants is some 400 fields, and
//! a sales report by day and SKU over a year 330,000, so that tree, not PostgreSQL, was most
//! of their time and memory. For such answers the selection set is read once into a
//! [`Plan`]: for each selected field, its key as JSON and a [`Writer`] of its value, nested
//! fields with plans of their own. The rows are then written as JSON straight away; the
//! answer's place in the response holds that text ([`raw`]), which [`write_json`] copies
//! into the response.
//!
//! A type opts in field by field ([`FlatObject::writer`]); a selection with anything else
//! (a fragment, a directive, a field without a writer, a field whose data isn't at hand)
//! takes async-graphql's own path, so the answer is the same either way; the tests compare
//! the two.

use std::{borrow::Cow, collections::HashSet, fmt::Display};

use async_graphql::{
    Context, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_list,
};
use axum::body::Bytes;

/// Writes one field's value of a row as JSON; `None` when the value isn't at hand without
/// a look-up (the whole answer then takes async-graphql's path).
pub type Writer<D> = Box<dyn Fn(&D, &mut Vec<u8>) -> Option<()> + Send + Sync>;

/// A GraphQL object type whose fields can be written from its data without a future.
pub trait FlatObject: OutputType {
    /// What the fields are written from: the object itself, or the row it wraps.
    type Data;

    /// This object's row.
    fn data(&self) -> &Self::Data;

    /// The writer of the field `field` (the context of one field of this type: its name,
    /// arguments and selection), reading what it needs from the request now; `None` when
    /// only async-graphql can resolve it.
    fn writer(field: &Context<'_>) -> Option<Writer<Self::Data>>;
}

/// The selected fields of one object type, ready to write rows with.
pub struct Plan<D> {
    /// `"key":` (with the `{` or `,` before it) and the writer of each field, in order.
    columns: Vec<(Vec<u8>, Writer<D>)>,
}

impl<D: 'static> Plan<D> {
    /// The plan of the selection set `ctx` over `T`, or `None` when it holds anything a
    /// writer can't answer. A key selected twice keeps its first place, as async-graphql
    /// does (validation made both the same field).
    pub fn of<T: FlatObject<Data = D>>(ctx: &ContextSelectionSet<'_>) -> Option<Plan<D>> {
        let mut seen = HashSet::new();
        let mut columns = Vec::with_capacity(ctx.item.node.items.len());
        for selection in &ctx.item.node.items {
            let Selection::Field(f) = &selection.node else {
                return None;
            };
            if !f.node.directives.is_empty() {
                return None;
            }
            let key = f.node.response_key().node.as_str();
            if !seen.insert(key) {
                // The same scalar again adds nothing; the same object again would merge
                // two selections, which async-graphql does.
                if f.node.selection_set.node.items.is_empty() {
                    continue;
                }
                return None;
            }
            let writer = if f.node.name.node == "__typename" {
                let mut name = Vec::new();
                write_scalar(&mut name, T::type_name().as_ref());
                Box::new(move |_: &D, out: &mut Vec<u8>| {
                    out.extend_from_slice(&name);
                    Some(())
                })
            } else {
                T::writer(&ctx.with_field(f))?
            };
            let mut k = Vec::with_capacity(key.len() + 4);
            k.push(if columns.is_empty() { b'{' } else { b',' });
            write_scalar(&mut k, key);
            k.push(b':');
            columns.push((k, writer));
        }
        Some(Plan { columns })
    }

    /// The plan of the selection set of the object field `field` over `T`.
    pub fn nested<T: FlatObject<Data = D>>(field: &Context<'_>) -> Option<Plan<D>> {
        Plan::of::<T>(&field.with_selection_set(&field.item.node.selection_set))
    }

    /// Writes `row` as a JSON object.
    pub fn write(&self, row: &D, out: &mut Vec<u8>) -> Option<()> {
        if self.columns.is_empty() {
            out.push(b'{');
        }
        for (key, writer) in &self.columns {
            out.extend_from_slice(key);
            writer(row, out)?;
        }
        out.push(b'}');
        Some(())
    }

    /// Writes `rows` as a JSON array of objects.
    pub fn write_list<'r>(&self, rows: impl IntoIterator<Item = &'r D>, out: &mut Vec<u8>) -> Option<()> {
        out.push(b'[');
        for (i, row) in rows.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write(row, out)?;
        }
        out.push(b']');
        Some(())
    }
}

/// The writer of a field whose value is a serialisable `V` made from the row.
pub fn scalar<D, V: serde::Serialize>(value: impl Fn(&D) -> V + Send + Sync + 'static) -> Option<Writer<D>> {
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| {
        write_scalar(out, &value(row));
        Some(())
    }))
}

/// The writer of a text field borrowed from the row.
pub fn text<D: 'static>(value: fn(&D) -> &str) -> Option<Writer<D>> {
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| {
        write_scalar(out, value(row));
        Some(())
    }))
}

/// The writer of a nullable text field borrowed from the row.
pub fn opt_text<D: 'static>(value: fn(&D) -> Option<&str>) -> Option<Writer<D>> {
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| {
        match value(row) {
            Some(text) => write_scalar(out, text),
            None => out.extend_from_slice(b"null"),
        }
        Some(())
    }))
}

/// The writer of a string field whose text is `value`'s `Display`, which must need no JSON
/// escaping (ids, dates, numbers).
pub fn quoted<D, V: Display>(value: impl Fn(&D) -> V + Send + Sync + 'static) -> Option<Writer<D>> {
    use std::io::Write;
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| {
        // Writing to a Vec can't fail.
        let _ = write!(out, "\"{}\"", value(row));
        Some(())
    }))
}

/// The writer of an object field: `plan` over what `value` finds in the row (`None`: not
/// at hand; `Some(None)`: null).
pub fn object<D: 'static, C: 'static>(
    plan: Plan<C>,
    value: impl Fn(&D) -> Option<Option<&C>> + Send + Sync + 'static,
) -> Option<Writer<D>> {
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| match value(row)? {
        Some(c) => plan.write(c, out),
        None => {
            out.extend_from_slice(b"null");
            Some(())
        }
    }))
}

/// The writer of a list field: `plan` over the slice `items` finds in the row (`None`: not
/// at hand).
pub fn list<D: 'static, C: 'static>(
    plan: Plan<C>,
    items: impl Fn(&D) -> Option<&[C]> + Send + Sync + 'static,
) -> Option<Writer<D>> {
    Some(Box::new(move |row: &D, out: &mut Vec<u8>| {
        plan.write_list(items(row)?, out)
    }))
}

/// A `[T!]!` answered as JSON text when its selection has writers.
pub struct FlatList<T>(pub Vec<T>);

/// A `T!` answered as JSON text when its selection has writers.
pub struct Flat<T>(pub T);

/// The key of the one-entry object that stands for JSON text in a response's values. A
/// GraphQL response key is a name (letters, digits, `_`), so no query can make one.
const RAW: &str = "$json";

/// A value that [`write_json`] writes as the JSON text `json` (which must be valid JSON).
fn raw(json: Vec<u8>) -> Value {
    let mut object = IndexMap::with_capacity(1);
    object.insert(Name::new(RAW), Value::Binary(Bytes::from(json)));
    Value::Object(object)
}

/// Writes `value` as compact JSON, exactly as serde_json writes it, except that the text
/// of a [`raw`] value is copied in as it is.
pub fn write_json(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(object) => {
            if object.len() == 1
                && let Some((key, Value::Binary(json))) = object.first()
                && key.as_str() == RAW
            {
                out.extend_from_slice(json);
                return;
            }
            out.push(b'{');
            for (i, (key, value)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(out, key.as_str());
                out.push(b':');
                write_json(out, value);
            }
            out.push(b'}');
        }
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, item);
            }
            out.push(b']');
        }
        scalar => write_scalar(out, scalar),
    }
}

/// serde_json's text of a value that has no values inside.
pub fn write_scalar(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Writing to a Vec fails only if serialising fails, which a scalar doesn't.
    let _ = serde_json::to_writer(out, value);
}

impl<T: FlatObject> OutputType for FlatList<T>
where
    T::Data: 'static,
{
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        // Extensions don't see the items one by one on this path; ours (`limits::Guard`)
        // looks at root fields only.
        if let Some(plan) = Plan::of::<T>(ctx) {
            let mut out = Vec::with_capacity(64 * self.0.len() * plan.columns.len().max(1) / 4 + 2);
            if plan.write_list(self.0.iter().map(T::data), &mut out).is_some() {
                return Ok(raw(out));
            }
        }
        resolve_list(ctx, field, &self.0, Some(self.0.len())).await
    }
}

impl<T: FlatObject> OutputType for Flat<T>
where
    T::Data: 'static,
{
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(plan) = Plan::of::<T>(ctx) {
            let mut out = Vec::with_capacity(1024);
            if plan.write(self.0.data(), &mut out).is_some() {
                return Ok(raw(out));
            }
        }
        self.0.resolve(ctx, field).await
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
    use serde_json::json;

    use super::*;

    #[derive(SimpleObject, Clone)]
    struct Row {
        day: String,
        key: Option<String>,
        net_sales: i64,
    }

    impl FlatObject for Row {
        type Data = Row;

        fn data(&self) -> &Row {
            self
        }

        fn writer(field: &Context<'_>) -> Option<Writer<Row>> {
            match field.item.node.name.node.as_str() {
                "day" => super::text(|r: &Row| &r.day),
                "key" => opt_text(|r: &Row| r.key.as_deref()),
                "netSales" => scalar(|r: &Row| r.net_sales),
                _ => None,
            }
        }
    }

    /// An object with nested objects, a field with an argument, and one whose data may
    /// not be at hand.
    #[derive(Clone)]
    struct Outer {
        name: String,
        rows: Vec<Row>,
        first: Option<Row>,
        late: Option<i32>,
    }

    #[Object]
    impl Outer {
        async fn name(&self, upper: Option<bool>) -> String {
            if upper == Some(true) {
                self.name.to_uppercase()
            } else {
                self.name.clone()
            }
        }
        async fn rows(&self) -> &[Row] {
            &self.rows
        }
        async fn first(&self) -> Option<&Row> {
            self.first.as_ref()
        }
        async fn late(&self) -> i32 {
            self.late.unwrap_or(-1)
        }
    }

    impl FlatObject for Outer {
        type Data = Outer;

        fn data(&self) -> &Outer {
            self
        }

        fn writer(field: &Context<'_>) -> Option<Writer<Outer>> {
            match field.item.node.name.node.as_str() {
                "name" => {
                    let upper = field.param_value::<Option<bool>>("upper", None).ok()?.1 == Some(true);
                    scalar(move |o: &Outer| if upper { o.name.to_uppercase() } else { o.name.clone() })
                }
                "rows" => list(Plan::nested::<Row>(field)?, |o: &Outer| Some(o.rows.as_slice())),
                "first" => object(Plan::nested::<Row>(field)?, |o: &Outer| Some(o.first.as_ref())),
                // Not at hand: the whole answer takes async-graphql's path.
                "late" => Some(Box::new(|o: &Outer, out: &mut Vec<u8>| {
                    write_scalar(out, &o.late?);
                    Some(())
                })),
                _ => None,
            }
        }
    }

    fn rows() -> Vec<Row> {
        (0..3)
            .map(|i| Row {
                day: format!("2026-11-0{}", i + 1),
                key: (i != 1).then(|| format!("sku-{i} \"맛\"\n\u{1}")),
                net_sales: 1000 * i - 500,
            })
            .collect()
    }

    fn outer(late: Option<i32>) -> Outer {
        Outer {
            name: "장터 \"shop\"".into(),
            rows: rows(),
            first: None,
            late,
        }
    }

    struct Query;

    #[Object]
    impl Query {
        async fn flat(&self) -> FlatList<Row> {
            FlatList(rows())
        }

        async fn plain(&self) -> Vec<Row> {
            rows()
        }

        async fn flat_outer(&self, late: Option<i32>) -> Flat<Outer> {
            Flat(outer(late))
        }

        async fn plain_outer(&self, late: Option<i32>) -> Outer {
            outer(late)
        }
    }

    /// The response as the service writes it: the text, not a serde_json::Value, whose
    /// objects forget the key order.
    async fn text(schema: &Schema<Query, EmptyMutation, EmptySubscription>, query: String) -> String {
        let resp = schema.execute(query.as_str()).await;
        assert!(resp.errors.is_empty(), "{query}: {:?}", resp.errors);
        let mut text = Vec::new();
        write_json(&mut text, &resp.data);
        String::from_utf8(text).expect("utf-8")
    }

    /// `{ flat <selection> }` answers exactly what async-graphql's own `{ plain <selection> }`
    /// does, whatever the selection.
    #[tokio::test]
    async fn answers_as_async_graphql_does() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let selections = [
            "{ day key netSales }",
            "{ netSales day }",
            "{ n: netSales d: day __typename }",
            "{ day day k: key k: key }",
            "{ key ... on Row { netSales } }",
            "{ ...F }",
            "{ day @skip(if: true) key @include(if: true) netSales @include(if: false) }",
            "{ t: __typename }",
        ];
        for selection in selections {
            let fragment = if selection.contains("...F") {
                "fragment F on Row { day n: netSales }"
            } else {
                ""
            };
            let run = |field: &str| text(&schema, format!("{{ {field} {selection} }} {fragment}"));
            let (flat, plain) = (run("flat").await, run("plain").await);
            assert_eq!(
                flat.replacen("\"flat\":", "", 1),
                plain.replacen("\"plain\":", "", 1),
                "{selection}"
            );
            assert!(flat.starts_with("{\"flat\":[{\""), "{selection}: {flat}");
        }
        // The engine's text is serde_json's.
        let resp = schema.execute("{ plain { day key } }").await;
        let mut written = Vec::new();
        write_json(&mut written, &resp.data);
        assert_eq!(written, serde_json::to_vec(&resp.data).expect("json"));

        // And the introspected type is the plain list's.
        let resp = schema
            .execute(r#"{ __type(name: "Query") { fields { name type { kind ofType { kind ofType { kind ofType { name } } } } } } }"#)
            .await
            .data
            .into_json()
            .expect("json");
        let fields = resp["__type"]["fields"].as_array().expect("fields");
        assert_eq!(fields[0]["type"], fields[1]["type"]);
        assert_eq!(fields[2]["type"], fields[3]["type"]);
        assert_eq!(
            fields[0]["type"]["ofType"]["ofType"]["ofType"],
            json!({ "name": "Row" })
        );
    }

    /// Nested objects and lists, arguments (literal and variable), null objects, and data not
    /// at hand: the flat object answers as the engine does, and is flat when it can be.
    #[tokio::test]
    async fn nested_objects_answer_as_async_graphql_does() {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let cases = [
            ("(late: 7)", "{ name rows { day netSales } first { day } late }", true),
            (
                "(late: 7)",
                "{ rows { k: key __typename } n: name(upper: true) t: __typename }",
                true,
            ),
            ("(late: 7)", "{ rows { day } rows { netSales } }", false),
            ("(late: 7)", "{ name rows { ... on Row { day } } }", false),
            // async-graphql drops `@skip`/`@include` (and what they skip) before resolving.
            (
                "(late: 7)",
                "{ name first @include(if: true) { day } rows @skip(if: true) { day } }",
                true,
            ),
            ("(late: 7)", "{ name first { ... { day } } }", false),
            ("", "{ name late }", false),
            ("", "{ name rows { day } }", true),
        ];
        for (args, selection, flat_expected) in cases {
            let run = |field: &str| text(&schema, format!("{{ {field}{args} {selection} }}"));
            let (flat, plain) = (run("flatOuter").await, run("plainOuter").await);
            assert_eq!(
                flat.replacen("\"flatOuter\":", "", 1),
                plain.replacen("\"plainOuter\":", "", 1),
                "{selection}"
            );
            // Flat answers are one raw value in the tree.
            let resp = schema.execute(format!("{{ flatOuter{args} {selection} }}")).await;
            let Value::Object(data) = &resp.data else {
                panic!("{selection}: {:?}", resp.data)
            };
            let is_raw = matches!(&data["flatOuter"], Value::Object(o) if o.contains_key(RAW));
            assert_eq!(is_raw, flat_expected, "{selection}");
        }
        // An argument from a variable.
        let resp = schema
            .execute(
                async_graphql::Request::new("query($u: Boolean) { flatOuter { name(upper: $u) } }")
                    .variables(async_graphql::Variables::from_json(json!({ "u": true }))),
            )
            .await;
        let mut written = Vec::new();
        write_json(&mut written, &resp.data);
        assert_eq!(
            String::from_utf8_lossy(&written),
            r#"{"flatOuter":{"name":"장터 \"SHOP\""}}"#
        );
    }
}
