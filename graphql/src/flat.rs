//! Long lists of flat objects (scalar fields only) resolved in one pass.
//!
//! async-graphql resolves every field of every object as its own boxed future and joins
//! them: about a microsecond a field. A sales report by day and SKU over a year has 25,000
//! rows of 11 fields, which made the resolver, not PostgreSQL, most of its time. For such
//! lists the selection set is read once, and each row becomes its response object directly.
//! Anything beyond plain fields (fragments, directives, arguments) takes async-graphql's
//! own path, so the answer is the same either way; the tests compare the two.

use std::borrow::Cow;

use async_graphql::{
    ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
    indexmap::IndexMap,
    parser::types::{Field, Selection},
    registry::Registry,
    resolver_utils::resolve_list,
};

/// An object whose fields are all scalars, each readable by its index.
pub trait FlatObject: OutputType {
    /// The index of the GraphQL field `name`, `None` when it has no such field.
    fn field_index(name: &str) -> Option<usize>;

    /// The value of the field at `index` (an index [`FlatObject::field_index`] gave).
    fn field_value(&self, index: usize) -> Value;
}

/// A `[T!]!` resolved in one pass when its selection is plain fields.
pub struct FlatList<T>(pub Vec<T>);

/// What one selected field of a row becomes: its response key and where its value comes from.
enum Column {
    Field(Name, usize),
    TypeName(Name),
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
    fn object(row: &T, columns: &[Column], type_name: &str) -> Value {
        let mut object = IndexMap::with_capacity(columns.len());
        for column in columns {
            let (key, value) = match column {
                Column::Field(key, i) => (key, row.field_value(*i)),
                Column::TypeName(key) => (key, Value::String(type_name.to_owned())),
            };
            // A key selected twice keeps its first place, as async-graphql does.
            object.entry(key.clone()).or_insert(value);
        }
        Value::Object(object)
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
            let type_name = T::type_name();
            return Ok(Value::List(
                self.0
                    .iter()
                    .map(|row| Self::object(row, &columns, &type_name))
                    .collect(),
            ));
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
        fn field_index(name: &str) -> Option<usize> {
            ["day", "key", "netSales"].iter().position(|f| *f == name)
        }

        fn field_value(&self, index: usize) -> Value {
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
                key: (i != 1).then(|| format!("sku-{i}")),
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
                    // The text, not a serde_json::Value, whose objects forget the key order.
                    let text = serde_json::to_string(&resp.data).expect("json");
                    text.replacen(&format!("{{\"{field}\":"), "", 1)
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
