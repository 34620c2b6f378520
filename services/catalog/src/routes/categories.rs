//! `GET /api/catalog/categories`: the category tree of active products with counts.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_platform::Problem;
use serde::Serialize;
use utoipa::ToSchema;

use super::{CatalogState, cached_json};
use crate::read;

/// A category with the number of active products in it and its subcategories.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryNode {
    /// Last path segment, e.g. `running`.
    pub slug: String,
    /// Full path, e.g. `footwear/running`: use it as the `category` filter.
    pub path: String,
    /// Display name derived from the slug, e.g. `Running`.
    pub name: String,
    pub product_count: i64,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

fn display_name(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the tree from per-path counts; every ancestor counts its descendants' products.
pub fn category_tree(counts: &[(String, i64)]) -> Vec<CategoryNode> {
    fn insert(nodes: &mut Vec<CategoryNode>, segments: &[&str], prefix: &str, count: i64) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let path = if prefix.is_empty() {
            (*first).to_owned()
        } else {
            format!("{prefix}/{first}")
        };
        let index = match nodes.iter().position(|n| n.slug == *first) {
            Some(i) => i,
            None => {
                nodes.push(CategoryNode {
                    slug: (*first).to_owned(),
                    path: path.clone(),
                    name: display_name(first),
                    product_count: 0,
                    children: Vec::new(),
                });
                nodes.len() - 1
            }
        };
        nodes[index].product_count += count;
        insert(&mut nodes[index].children, rest, &path, count);
    }
    fn sort(nodes: &mut [CategoryNode]) {
        nodes.sort_by(|a, b| a.slug.cmp(&b.slug));
        for node in nodes {
            sort(&mut node.children);
        }
    }
    let mut roots = Vec::new();
    for (path, count) in counts {
        let segments: Vec<&str> = path.split('/').collect();
        insert(&mut roots, &segments, "", *count);
    }
    sort(&mut roots);
    roots
}

/// The category tree of active products, with counts that include subcategories.
#[utoipa::path(
    get,
    path = "/api/catalog/categories",
    responses((status = 200, description = "Top-level categories", body = Vec<CategoryNode>)),
    tag = "catalog"
)]
pub async fn list_categories(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Problem> {
    cached_json(&state, &headers, &uri, async {
        let counts = read::category_counts(&state.db).await?;
        Ok(category_tree(&counts))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_category_tree_sums_subcategories_into_their_parents() {
        let tree = category_tree(&[
            ("apparel".into(), 1),
            ("footwear/running".into(), 2),
            ("footwear/running/trail".into(), 1),
            ("footwear/hiking-boots".into(), 3),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(
            (tree[0].slug.as_str(), tree[0].product_count),
            ("apparel", 1)
        );
        let footwear = &tree[1];
        assert_eq!(footwear.product_count, 6);
        assert_eq!(footwear.children[0].name, "Hiking Boots");
        assert_eq!(footwear.children[1].path, "footwear/running");
        assert_eq!(footwear.children[1].product_count, 3);
        assert_eq!(footwear.children[1].children[0].product_count, 1);
    }
}
