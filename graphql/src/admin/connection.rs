//! The admin API's Relay connections: `edges { cursor node }`, `nodes` (the same items
//! without cursors), `pageInfo` and `totalCount`, paged with `first` (at most 100) and
//! `after`, like the storefront's `products`.

use async_graphql::Context;

/// Whether the selection asks for `totalCount`: the list then counts its matches, one
/// statement more, and only then.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Defines a connection type `$conn` and its edge `$edge` over `$node`, built with
/// `$conn::new(items with their cursors, has_next, total)`.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        pub struct $conn {
            edges: Vec<$edge>,
            has_next: bool,
            total: Option<i64>,
        }

        impl $conn {
            /// A page: the items with their cursors, whether more follow, and the count
            /// over all pages when the selection asked for it.
            pub fn new(items: Vec<($node, String)>, has_next: bool, total: Option<i64>) -> $conn {
                let edges = items
                    .into_iter()
                    .map(|(node, cursor)| $edge { cursor, node })
                    .collect();
                $conn {
                    edges,
                    has_next,
                    total,
                }
            }

            /// A page from `commerce`, each item made a node by `node`.
            pub fn from_page<T>(page: commerce::pagination::Page<T>, node: impl Fn(T) -> $node) -> $conn {
                let items = page
                    .items
                    .into_iter()
                    .map(|(item, cursor)| (node(item), cursor))
                    .collect();
                $conn::new(items, page.has_next, page.total)
            }
        }

        #[doc = concat!("A page of ", $what, ".")]
        #[async_graphql::Object]
        impl $conn {
            #[doc = concat!("The ", $what, " with their cursors.")]
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            #[doc = concat!("The ", $what, " alone.")]
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Where this page is.
            async fn page_info(&self) -> crate::storefront::catalog::PageInfo {
                crate::storefront::catalog::PageInfo::forward(
                    self.has_next,
                    self.edges.first().map(|e| e.cursor.clone()),
                    self.edges.last().map(|e| e.cursor.clone()),
                )
            }

            /// How many match over all pages (counted only when asked for).
            async fn total_count(&self) -> async_graphql::Result<i64> {
                self.total
                    .ok_or_else(|| async_graphql::Error::new("totalCount was not counted"))
            }
        }

        #[doc = concat!("One of the ", $what, " and its cursor.")]
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Pass as `after` to continue after this one.
            cursor: String,
            /// The item.
            node: $node,
        }
    };
}

pub(crate) use connection;
