//! Pictures for the demo shop: drawn here (a coloured ground with simple shapes, no network)
//! and stored through the same pipeline as uploads, so thumbnails work on a fresh machine.

use image::{ImageEncoder, Rgb, RgbImage, codecs::png::PngEncoder};
use sqlx::PgPool;
use uuid::Uuid;

use super::{Media, MediaService, insert};
use crate::{Error, ids::ProductId};

/// Side of a demo picture, pixels: thumbnails 160, 320 and 480 exist below it.
const SIDE: u32 = 600;

/// Draws the `n`th picture of `seed` as PNG bytes.
pub fn draw(seed: &str, n: u32) -> Vec<u8> {
    // FNV-1a: a stable colour per product, whatever the platform.
    let h = seed
        .bytes()
        .chain(n.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let byte = |i: u32| u8::try_from((h >> (i * 8)) & 0xff).unwrap_or(0);
    let ground = Rgb([160 + byte(0) / 3, 160 + byte(1) / 3, 160 + byte(2) / 3]);
    let shape = Rgb([byte(3) / 2, byte(4) / 2, byte(5) / 2]);
    let accent = Rgb([255 - byte(6) / 4, 230, 120 + byte(7) / 4]);
    let c = i64::from(SIDE / 2);
    let r = i64::from(SIDE / 4) + i64::from(byte(2) % 40);
    let img = RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let (dx, dy) = (i64::from(x) - c, i64::from(y) - c);
        let in_bar = y > SIDE * 3 / 4 && y < SIDE * 3 / 4 + SIDE / 12 && x > SIDE / 6 && x < SIDE * 5 / 6;
        let in_box = x > SIDE / 10 && x < SIDE / 4 && y > SIDE / 10 && y < SIDE / 4;
        if dx * dx + dy * dy < r * r {
            shape
        } else if in_bar || in_box {
            accent
        } else {
            ground
        }
    });
    let mut out = Vec::new();
    // Encoding a buffer we just drew can't fail short of memory.
    let _ = PngEncoder::new(&mut out).write_image(img.as_raw(), SIDE, SIDE, image::ExtendedColorType::Rgb8);
    out
}

/// Gives every product that shows only outside pictures (the demo's placeholders) drawn,
/// stored ones instead, as many as it had (at most 2); a product with no pictures at all (a
/// bulk catalog's, or one staff made) is left as it is. Returns how many products changed.
/// Errors: `INTERNAL` (store, database).
pub async fn seed(pool: &PgPool, svc: &MediaService) -> Result<u64, Error> {
    let products = sqlx::query!(
        r#"SELECT p.id AS "id: ProductId", p.slug,
                  (SELECT array_agg(m.alt ORDER BY pm.position) FROM product_media pm JOIN media m ON m.id = pm.media_id
                    WHERE pm.product_id = p.id) AS alts
             FROM products p
            WHERE EXISTS (SELECT 1 FROM product_media pm JOIN media m ON m.id = pm.media_id
                           WHERE pm.product_id = p.id AND m.storage = 'EXTERNAL')
              AND NOT EXISTS (SELECT 1 FROM product_media pm JOIN media m ON m.id = pm.media_id
                               WHERE pm.product_id = p.id AND m.storage <> 'EXTERNAL')
            ORDER BY p.created_at DESC"#
    )
    .fetch_all(pool)
    .await?;
    let mut changed = 0;
    for p in products {
        let alts = p.alts.unwrap_or_default();
        let n = u32::try_from(alts.len().clamp(1, 2)).unwrap_or(1);
        let mut made: Vec<Media> = Vec::new();
        for i in 0..n {
            let alt = alts.get(i as usize).cloned().unwrap_or_else(|| p.slug.clone());
            made.push(svc.make(draw(&p.slug, i), &alt).await?);
        }
        let mut tx = pool.begin().await?;
        let old: Vec<Uuid> = sqlx::query_scalar!(
            "DELETE FROM product_media WHERE product_id = $1 RETURNING media_id",
            p.id as ProductId
        )
        .fetch_all(&mut *tx)
        .await?;
        for (pos, m) in made.iter().enumerate() {
            insert(&mut tx, m, None).await?;
            sqlx::query!(
                "INSERT INTO product_media (product_id, media_id, position) VALUES ($1, $2, $3)",
                p.id as ProductId,
                m.id as crate::ids::MediaId,
                i32::try_from(pos).unwrap_or(0),
            )
            .execute(&mut *tx)
            .await?;
        }
        super::drop_unused_outside(&mut tx, &old).await?;
        tx.commit().await?;
        changed += 1;
    }
    Ok(changed)
}
