//! Admin media: uploads (GraphQL multipart request spec, `multipart.rs`), imports by URL,
//! the list of stored pictures, and which pictures products and variants show. OWNER and
//! MANAGER (the catalog permission); every change is in the audit log.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject, Upload};
use commerce::{
    Error,
    ids::{MediaId, ProductId},
    media::{self, MediaService},
};

use super::{
    catalog::{CatalogPayload, catalog_payload},
    connection::connection,
    context::Cx,
};
use crate::{
    error::GqlResult,
    storefront::{UserError, media::Media, split},
};

connection!(MediaConnection, MediaEdge, Media, "media");

/// The result of `mediaUpload`, `mediaImport` and `mediaDelete`.
#[derive(SimpleObject)]
pub struct MediaPayload {
    /// The stored picture (null after a delete or on an error).
    media: Option<Media>,
    /// The id deleted (`mediaDelete`).
    deleted_id: Option<ID>,
    /// What went wrong: `UNSUPPORTED_MEDIA`, `TOO_LARGE`, `INVALID_INPUT`, `MEDIA_IN_USE`,
    /// `NOT_FOUND`, `FORBIDDEN`.
    user_errors: Vec<UserError>,
}

fn service<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<MediaService>> {
    ctx.data::<Arc<MediaService>>()
}

fn payload(ctx: &Context<'_>, r: Result<media::Media, Error>) -> Result<MediaPayload> {
    let (media, user_errors) = split(ctx, r)?;
    Ok(MediaPayload {
        media: media.map(Media),
        deleted_id: None,
        user_errors,
    })
}

/// Admin media queries.
#[derive(Default)]
pub struct MediaQuery;

#[Object]
impl MediaQuery {
    /// Uploaded and imported pictures, newest first (outside URLs are not listed).
    async fn media(&self, ctx: &Context<'_>, first: Option<i64>, after: Option<String>) -> Result<MediaConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let page = media::list(cx.pool, cx.principal, first, after.as_deref())
            .await
            .gql(ctx)?;
        Ok(MediaConnection::from_page(page, Media))
    }
}

/// Admin media mutations.
#[derive(Default)]
pub struct MediaMutation;

#[Object]
impl MediaMutation {
    /// Stores an uploaded picture (JPEG, PNG or WebP, sniffed from the bytes; at most
    /// `media.max_bytes`) with its thumbnails; EXIF and GPS data are dropped and the EXIF
    /// orientation applied. Send it as `multipart/form-data` (GraphQL multipart request
    /// spec) with a bearer token.
    async fn media_upload(&self, ctx: &Context<'_>, file: Upload, alt: Option<String>) -> Result<MediaPayload> {
        let cx = Cx::staff(ctx).await?;
        let svc = service(ctx)?;
        let r = async {
            let bytes = file
                .value(ctx)
                .map_err(|e| Error::UnsupportedMedia { reason: e.to_string() })?
                .content
                .to_vec();
            media::upload(cx.pool, svc, cx.principal, bytes, alt.as_deref(), cx.ip).await
        }
        .await;
        payload(ctx, r)
    }

    /// Fetches a picture from an http(s) URL (10 s, at most `media.max_bytes`, never from
    /// loopback or private addresses) and stores it like an upload.
    async fn media_import(&self, ctx: &Context<'_>, url: String, alt: Option<String>) -> Result<MediaPayload> {
        let cx = Cx::staff(ctx).await?;
        let svc = service(ctx)?;
        let r = media::import(cx.pool, svc, cx.principal, &url, alt.as_deref(), cx.ip).await;
        payload(ctx, r)
    }

    /// Deletes a picture and its files. A picture a product or variant still shows is
    /// refused (`MEDIA_IN_USE`): take it off first (`productMediaSet`, `variantMediaSet`).
    async fn media_delete(&self, ctx: &Context<'_>, id: ID) -> Result<MediaPayload> {
        let cx = Cx::staff(ctx).await?;
        let svc = service(ctx)?;
        let r = async {
            let mid: MediaId = id.parse()?;
            media::delete(cx.pool, svc, cx.principal, mid, cx.ip).await
        }
        .await;
        let (done, user_errors) = split(ctx, r)?;
        Ok(MediaPayload {
            media: None,
            deleted_id: done.map(|()| id),
            user_errors,
        })
    }

    /// Sets a product's pictures, in this order (replacing what it showed).
    async fn product_media_set(&self, ctx: &Context<'_>, product_id: ID, media_ids: Vec<ID>) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let pid: ProductId = product_id.parse()?;
            let ids = media_ids
                .iter()
                .map(|m| m.parse())
                .collect::<Result<Vec<MediaId>, _>>()?;
            media::set_product_media(cx.pool, cx.principal, pid, &ids, cx.ip).await?;
            Ok((pid.to_string(), Some(pid)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }

    /// Sets a variant's own picture (`Variant.image`), or with null clears it (the variant
    /// then shows its product's first).
    async fn variant_media_set(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        media_id: Option<ID>,
    ) -> Result<CatalogPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            let media = media_id.map(|m| m.parse::<MediaId>()).transpose()?;
            let pid = media::set_variant_media(cx.pool, cx.principal, variant_id.parse()?, media, cx.ip).await?;
            Ok((variant_id.to_string(), Some(pid)))
        }
        .await;
        catalog_payload(ctx, cx.pool, r).await
    }
}
