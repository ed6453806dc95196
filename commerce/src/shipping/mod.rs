//! Carriers and shipments (owns `carriers`, `shipments`). Shipping an order moves its
//! stock from allocated to shipped: on hand and allocated both drop, with a movement each.

pub mod tracking;

use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::{
    Error,
    ids::OrderId,
    order::{self, Actor, Order, OrderKey, OrderStatus, Transition},
    staff::{Permission, Principal, audit},
};

/// A carrier.
#[derive(Clone, Debug)]
pub struct Carrier {
    /// Code, e.g. `CJ`.
    pub code: String,
    /// Name, e.g. `CJ대한통운`.
    pub name: String,
    /// Tracking page, `{n}` standing for the number.
    pub tracking_url_template: String,
}

/// The tracking page of a number: digits only, `{n}` replaced.
pub fn tracking_url(template: &str, number: &str) -> String {
    template.replace("{n}", number)
}

/// A tracking number as carriers print it (`6012-3456-7890`), reduced to its 9–15 digits.
pub fn parse_tracking_number(s: &str) -> Result<String, Error> {
    let cleaned: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    let ok = (9..=15).contains(&cleaned.len()) && cleaned.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(cleaned).ok_or(Error::Invalid {
        field: "trackingNumber",
        reason: "9–15 digits (dashes allowed)".into(),
    })
}

/// Active carriers in display order.
pub async fn carriers(pool: &PgPool) -> Result<Vec<Carrier>, Error> {
    Ok(sqlx::query_as!(
        Carrier,
        "SELECT code, name, tracking_url_template FROM carriers WHERE active ORDER BY position, code"
    )
    .fetch_all(pool)
    .await?)
}

/// A shipment made.
#[derive(Clone, Debug)]
pub struct Shipped {
    /// The carrier.
    pub carrier: Carrier,
    /// Digits.
    pub tracking_number: String,
    /// The tracking page.
    pub tracking_url: String,
    /// The order, now `SHIPPED`.
    pub order: Order,
}

async fn ship_in(
    conn: &mut PgConnection,
    by: Principal,
    id: OrderId,
    carrier: &str,
    tracking: &str,
    ip: Option<&str>,
) -> Result<Shipped, Error> {
    let tracking = parse_tracking_number(tracking)?;
    let carrier = sqlx::query_as!(
        Carrier,
        "SELECT code, name, tracking_url_template FROM carriers WHERE code = $1 AND active",
        carrier.trim().to_uppercase()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "carrier" })?;
    let o = order::get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    let actor = Actor::Staff(by.id);
    // A paid order can go straight out: it passes through PREPARING on the way.
    if o.status == OrderStatus::Paid {
        order::transition(conn, id, Transition::Prepare, actor, "packed").await?;
    }
    order::transition(
        conn,
        id,
        Transition::Ship,
        actor,
        &format!("{} {tracking}", carrier.name),
    )
    .await?;
    sqlx::query!(
        "INSERT INTO shipments (id, order_id, carrier_code, tracking_number, actor) VALUES ($1, $2, $3, $4, $5)",
        uuid::Uuid::now_v7(),
        id as OrderId,
        carrier.code,
        tracking,
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    // Allocated → shipped, variants locked in id order like checkout.
    sqlx::query!(
        "WITH lines AS (
             SELECT variant_id, sum(quantity)::int AS qty FROM order_lines
              WHERE order_id = $1 AND variant_id IS NOT NULL GROUP BY variant_id),
         locked AS (SELECT v.id FROM variants v JOIN lines ON lines.variant_id = v.id ORDER BY v.id FOR UPDATE OF v),
         upd AS (
             UPDATE variants v SET on_hand = v.on_hand - lines.qty, allocated = v.allocated - lines.qty, updated_at = now()
               FROM lines WHERE v.id = lines.variant_id AND v.id IN (SELECT id FROM locked)
             RETURNING v.id, lines.qty)
         INSERT INTO stock_movements (variant_id, delta_on_hand, delta_allocated, reason, order_id, actor)
         SELECT id, -qty, -qty, 'SHIPPED', $1, $2 FROM upd",
        id as OrderId,
        actor.label(),
    )
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        by,
        "order.ship",
        &o.number,
        json!({ "carrier": carrier.code, "tracking": tracking }),
        ip,
    )
    .await?;
    let order = order::get(conn, &OrderKey::Id(id))
        .await?
        .ok_or(Error::NotFound { what: "order" })?;
    Ok(Shipped {
        tracking_url: tracking_url(&carrier.tracking_url_template, &tracking),
        carrier,
        tracking_number: tracking,
        order,
    })
}

/// Ships an order (`PAID` or `PREPARING` → `SHIPPED`) with a carrier and tracking number,
/// in one transaction; the order comes back as `by` may see it ([`Order::seen_by`]).
/// Errors: `FORBIDDEN`, `NOT_FOUND` (order, carrier), `INVALID_INPUT` (tracking number),
/// `INVALID_STATE`.
pub async fn create_shipment(
    pool: &PgPool,
    by: Principal,
    id: OrderId,
    carrier: &str,
    tracking: &str,
    ip: Option<&str>,
) -> Result<Shipped, Error> {
    by.require(Permission::WriteOrders, "ship orders")?;
    let mut tx = pool.begin().await?;
    let shipped = ship_in(&mut tx, by, id, carrier, tracking, ip).await?;
    tx.commit().await?;
    Ok(Shipped {
        order: shipped.order.seen_by(by),
        ..shipped
    })
}

/// The outcome of one CSV row.
#[derive(Debug)]
pub struct ImportRow {
    /// 1-based line in the text.
    pub line: usize,
    /// The order number given.
    pub number: String,
    /// What went wrong, if anything.
    pub error: Option<Error>,
}

/// Ships many orders from CSV text as couriers' Excel exports write it: one row per order
/// with its order number, carrier code and tracking number, in that order unless a header row
/// names the columns (`주문번호`, `택배사`, `송장번호` or `order number`, `carrier`,
/// `tracking number`; other columns are ignored). A UTF-8 BOM, quoted fields with commas,
/// CRLF line ends and empty rows are fine. The first row is a header when its tracking-number
/// column has no digit or its first cell is a header name. Each row is its own transaction:
/// bad rows are reported with their line, good rows go through. Errors: `FORBIDDEN` for the
/// whole import.
pub async fn import_shipments(
    pool: &PgPool,
    by: Principal,
    csv: &str,
    ip: Option<&str>,
) -> Result<Vec<ImportRow>, Error> {
    by.require(Permission::WriteOrders, "ship orders")?;
    let mut out = Vec::new();
    let mut columns = Columns::POSITIONAL;
    let mut first = true;
    for (line, row) in csv_rows(csv) {
        let Ok(fields) = row else {
            out.push(ImportRow {
                line,
                number: String::new(),
                error: Some(Error::Invalid {
                    field: "csv",
                    reason: "not readable as CSV".into(),
                }),
            });
            continue;
        };
        if std::mem::take(&mut first)
            && let Some(named) = Columns::from_header(&fields)
        {
            columns = named;
            continue;
        }
        let cell = |i: usize| fields.get(i).map_or("", String::as_str);
        let number = cell(columns.number).to_owned();
        let (carrier, tracking) = (cell(columns.carrier), cell(columns.tracking));
        let result = async {
            if number.is_empty() || carrier.is_empty() || tracking.is_empty() {
                return Err(Error::Invalid {
                    field: "csv",
                    reason: "order number, carrier and tracking number on every row".into(),
                });
            }
            let mut tx = pool.begin().await?;
            let id = order::get(&mut tx, &OrderKey::Number(&number))
                .await?
                .ok_or(Error::NotFound { what: "order" })?
                .id;
            ship_in(&mut tx, by, id, carrier, tracking, ip).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match result {
            Err(e) if e.is_fault() => return Err(e),
            r => out.push(ImportRow {
                line,
                number,
                error: r.err(),
            }),
        }
    }
    Ok(out)
}

/// The non-empty rows of CSV text with the line each starts on (1-based), fields trimmed.
fn csv_rows(text: &str) -> impl Iterator<Item = (usize, Result<Vec<String>, csv::Error>)> + '_ {
    // Excel writes a BOM before UTF-8 CSV.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    // Lines are counted here from each record's byte offset: the reader's own line count
    // lags behind after CRLF line ends.
    let (mut seen, mut line) = (0, 1);
    reader.into_records().filter_map(move |r| {
        let at = match &r {
            Ok(rec) => rec.position(),
            Err(e) => e.position(),
        };
        let mut start = at
            .map_or(seen, |p| usize::try_from(p.byte()).unwrap_or(usize::MAX))
            .min(text.len());
        if text.as_bytes().get(start) == Some(&b'\n') {
            start += 1; // the end of the CRLF before this record
        }
        line += text.get(seen.min(start)..start).map_or(0, |s| s.matches('\n').count());
        seen = seen.max(start);
        match r {
            Ok(rec) if rec.iter().all(str::is_empty) => None,
            Ok(rec) => Some((line, Ok(rec.iter().map(str::to_owned).collect()))),
            Err(e) => Some((line, Err(e))),
        }
    })
}

/// Where the three columns of a shipments CSV are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Columns {
    number: usize,
    carrier: usize,
    tracking: usize,
}

impl Columns {
    /// Without a header: order number, carrier, tracking number.
    const POSITIONAL: Columns = Columns {
        number: 0,
        carrier: 1,
        tracking: 2,
    };

    /// The columns a header row names, if `row` is one: it names a column, or its
    /// tracking-number cell has no digit. A column not named stays where
    /// [`Columns::POSITIONAL`] has it.
    fn from_header(row: &[String]) -> Option<Columns> {
        let key = |s: &str| -> String {
            s.chars()
                .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
                .flat_map(char::to_lowercase)
                .collect()
        };
        let keys: Vec<String> = row.iter().map(|c| key(c)).collect();
        let find = |wanted: &[&str]| keys.iter().position(|k| wanted.contains(&k.as_str()));
        let number = find(&["주문번호", "ordernumber", "orderno", "order", "number"]);
        let carrier = find(&["택배사", "택배사코드", "carrier", "carriercode", "courier"]);
        let tracking = find(&[
            "송장번호",
            "운송장번호",
            "trackingnumber",
            "tracking",
            "invoice",
            "invoicenumber",
        ]);
        let tracking_cell = row.get(Self::POSITIONAL.tracking).map_or("", String::as_str);
        let named = number.is_some() || carrier.is_some() || tracking.is_some();
        let no_digits = !tracking_cell.is_empty() && !tracking_cell.chars().any(|c| c.is_ascii_digit());
        (named || no_digits).then(|| Columns {
            number: number.unwrap_or(Self::POSITIONAL.number),
            carrier: carrier.unwrap_or(Self::POSITIONAL.carrier),
            tracking: tracking.unwrap_or(Self::POSITIONAL.tracking),
        })
    }
}

/// The latest shipment's tracking page of an order, if it has shipped.
pub async fn tracking_url_of(conn: &mut PgConnection, id: OrderId) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT replace(c.tracking_url_template, '{n}', s.tracking_number) AS "url!"
             FROM shipments s JOIN carriers c ON c.code = s.carrier_code
            WHERE s.order_id = $1 ORDER BY s.created_at DESC LIMIT 1"#,
        id as OrderId
    )
    .fetch_optional(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<(usize, Vec<String>)> {
        csv_rows(text).map(|(line, r)| (line, r.unwrap_or_default())).collect()
    }

    #[test]
    fn excel_csv_with_bom_quotes_and_crlf() {
        let text = "\u{feff}주문번호,\"받는 분, 주소\",택배사,송장번호\r\n\
                    20261202-AAAAAA,\"홍길동, 서울\",CJ,\"6012-3456-7890\"\r\n\
                    ,,,\r\n\
                    20261202-BBBBBB,\"김\"\"별명\"\"\",LOGEN,12345678901\r\n";
        let r = rows(text);
        assert_eq!(r.len(), 3, "the empty row is left out: {r:?}");
        assert_eq!(r[0].0, 1);
        assert_eq!(
            r[1],
            (
                2,
                vec![
                    "20261202-AAAAAA".into(),
                    "홍길동, 서울".into(),
                    "CJ".into(),
                    "6012-3456-7890".into()
                ]
            )
        );
        assert_eq!(r[2].0, 4);
        assert_eq!(r[2].1[1], "김\"별명\"");
        let c = Columns::from_header(&r[0].1).expect("a header");
        assert_eq!((c.number, c.carrier, c.tracking), (0, 2, 3));
    }

    #[test]
    fn headers_are_recognised_by_name_or_by_a_tracking_cell_without_digits() {
        let row = |cells: &[&str]| cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            Columns::from_header(&row(&["Order Number", "Carrier", "Tracking Number"])),
            Some(Columns::POSITIONAL)
        );
        assert_eq!(
            Columns::from_header(&row(&["번호", "회사", "운송장"])),
            Some(Columns::POSITIONAL)
        );
        assert_eq!(
            Columns::from_header(&row(&["20261202-AAAAAA", "CJ", "601234567890"])),
            None
        );
        // A data row missing its tracking number is a row to report, not a header.
        assert_eq!(Columns::from_header(&row(&["20261202-AAAAAA", "CJ", ""])), None);
    }

    #[test]
    fn tracking_numbers_and_urls() {
        assert_eq!(
            parse_tracking_number("6012-3456-7890").ok().as_deref(),
            Some("601234567890")
        );
        for bad in ["12345678", "1234567890123456", "60123456789A", ""] {
            assert!(parse_tracking_number(bad).is_err(), "{bad}");
        }
        assert_eq!(
            tracking_url("https://www.ilogen.com/web/personal/trace/{n}", "12345678901"),
            "https://www.ilogen.com/web/personal/trace/12345678901"
        );
    }
}
