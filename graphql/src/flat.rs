//! Long lists of objects whose selection is scalar fields only, answered as JSON text.
//!
//! async-graphql resolves every field of every object as its own boxed future into a tree of
//! values, which is then serialised and freed: about a microsecond and a hundred bytes a
//! field. A sales report by day and SKU over a year has 33,000 rows of 10 fields, so that
//! tree, not PostgreSQL, was most of the report's time and memory. For such lists the
//! selection set is read once and the rows are written as JSON straight away; the list's
//! place in the response holds that text ([`raw`]), which [`write_json`] copies into the
//! response. Anything beyond plain fields (fragments, directives, arguments) takes
//! async-graphql's own path, so the answer is the same either way; the tests compare the two.

use std::borrow::Cow;

use async_graphql::{
    ContextBase, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_list,
};
use axum::body::Bytes;

/// An object whose scalar fields are each readable by its index (its other fields take
/// async-graphql's path).
pub trait FlatObject: OutputType {
    /// What the fields read from the request (whether it may see exact stock, say), looked
    /// up once per list; `()` when nothing.
    type Env;

    /// The request's part of the values.
    fn env<T>(ctx: &ContextBase<'_, T>) -> Self::Env;

    /// The index of the scalar GraphQL field `name`, `None` when it has no such field or
    /// the field is not a scalar without arguments.
    fn field_index(name: &str) -> Option<usize>;

    /// The value of the field at `index` (an index [`FlatObject::field_index`] gave).
    fn field_value(&self, index: usize, env: &Self::Env) -> Value;

    /// Writes the field at `index` as JSON, the same text [`write_json`] makes of its
    /// [`FlatObject::field_value`]; types with long lists write it without making the value.
    fn write_field(&self, index: usize, env: &Self::Env, out: &mut Vec<u8>) {
        write_json(out, &self.field_value(index, env));
    }
}

/// A `[T!]!` answered as JSON text when its selection is plain fields.
pub struct FlatList<T>(pub Vec<T>);

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

/// What one selected field of a row becomes: its response key and where its value comes from.
enum Column {
    Field(Name, usize),
    TypeName(Name),
}

impl Column {
    fn key(&self) -> &Name {
        match self {
            Column::Field(key, _) | Column::TypeName(key) => key,
        }
    }
}

/// The columns of `selection`, or `None` when it holds anything but plain fields.
fn columns<T: FlatObject>(ctx: &ContextSelectionSet<'_>) -> Option<Vec<Column>> {
    ctx.item
        .node
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(f) => plain(&f.node).and_then(|f| {
                let key = f.alias.as_ref().unwrap_or(&f.name).node.clone();
                match f.name.node.as_str() {
                    "__typename" => Some(Column::TypeName(key)),
                    name => T::field_index(name).map(|i| Column::Field(key, i)),
                }
            }),
            Selection::FragmentSpread(_) | Selection::InlineFragment(_) => None,
        })
        .collect()
}

fn plain(f: &Field) -> Option<&Field> {
    (f.directives.is_empty() && f.arguments.is_empty() && f.selection_set.node.items.is_empty()).then_some(f)
}

impl<T: FlatObject> FlatList<T> {
    /// The rows as a JSON array of objects with the keys of `columns` in their order (a key
    /// selected twice keeps its first place, as async-graphql does).
    fn json(&self, mut columns: Vec<Column>, type_name: &str, env: &T::Env) -> Vec<u8> {
        let mut seen = std::collections::HashSet::new();
        columns.retain(|c| seen.insert(c.key().clone()));
        // `"key":` of each column, escaped once.
        let keys: Vec<Vec<u8>> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut k = Vec::new();
                k.push(if i == 0 { b'{' } else { b',' });
                write_scalar(&mut k, c.key().as_str());
                k.push(b':');
                k
            })
            .collect();
        let mut out = Vec::with_capacity(self.0.len() * 32 * columns.len().max(1) + 2);
        out.push(b'[');
        for (r, row) in self.0.iter().enumerate() {
            if r > 0 {
                out.push(b',');
            }
            if columns.is_empty() {
                out.push(b'{');
            }
            for (column, key) in columns.iter().zip(&keys) {
                out.extend_from_slice(key);
                match column {
                    Column::Field(_, i) => row.write_field(*i, env, &mut out),
                    Column::TypeName(_) => write_scalar(&mut out, type_name),
                }
            }
            out.push(b'}');
        }
        out.push(b']');
        out
    }
}

impl<T: FlatObject> OutputType for FlatList<T> {
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
        if let Some(columns) = columns::<T>(ctx) {
            return Ok(raw(self.json(columns, &T::type_name(), &T::env(ctx))));
        }
        resolve_list(ctx, field, &self.0, Some(self.0.len())).await
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
        type Env = ();

        fn env<T>(_: &ContextBase<'_, T>) {}

        fn field_index(name: &str) -> Option<usize> {
            ["day", "key", "netSales"].iter().position(|f| *f == name)
        }

        fn field_value(&self, index: usize, (): &()) -> Value {
            match index {
                0 => Value::String(self.day.clone()),
                1 => self.key.clone().map_or(Value::Null, Value::String),
                _ => Value::from(self.net_sales),
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

    struct Query;

    #[Object]
    impl Query {
        async fn flat(&self) -> FlatList<Row> {
            FlatList(rows())
        }

        async fn plain(&self) -> Vec<Row> {
            rows()
        }
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
            let fragment = "fragment F on Row { day n: netSales }";
            let run = |field: &'static str| {
                let query = format!("{{ {field} {selection} }} {fragment}");
                let query = if selection.contains("...F") {
                    query
                } else {
                    query.replace(fragment, "")
                };
                let schema = schema.clone();
                async move {
                    let resp = schema.execute(query).await;
                    assert!(resp.errors.is_empty(), "{selection}: {:?}", resp.errors);
                    // The text, not a serde_json::Value, whose objects forget the key order;
                    // as the service writes it (`flat` holds JSON text), and as serde_json does.
                    let mut text = Vec::new();
                    write_json(&mut text, &resp.data);
                    if field == "plain" {
                        assert_eq!(text, serde_json::to_vec(&resp.data).expect("json"));
                    }
                    String::from_utf8(text)
                        .expect("utf-8")
                        .replacen(&format!("{{\"{field}\":"), "", 1)
                }
            };
            let (flat, plain) = (run("flat").await, run("plain").await);
            assert_eq!(flat, plain, "{selection}");
            assert!(flat.starts_with("[{\""), "{selection}: {flat}");
        }
        // And the introspected type is the plain list's.
        let resp = schema
            .execute(r#"{ __type(name: "Query") { fields { name type { kind ofType { kind ofType { kind ofType { name } } } } } } }"#)
            .await
            .data
            .into_json()
            .expect("json");
        let fields = resp["__type"]["fields"].as_array().expect("fields");
        assert_eq!(fields[0]["type"], fields[1]["type"]);
        assert_eq!(
            fields[0]["type"]["ofType"]["ofType"]["ofType"],
            json!({ "name": "Row" })
        );
    }
}
