//! What staff typed, parsed once at the edge: `/sales`, `/order`, `/stock`, `/help`, in
//! English or Korean, from a slash command (`/sales 어제`), an app mention
//! (`<@U123> sales 어제`) or a direct message (`sales 어제`). Pure: "today" is given.
//!
//! Periods are Seoul calendar periods (DESIGN.md §2: weeks start on Monday), up to today:
//! `this week` is Monday to today, `this month` the 1st to today. Each has a previous period
//! to compare with: the day before; the same days of the week before; the same days of
//! the month before (clamped to its end); a whole month before a whole month; and for a
//! date range, the same number of days just before it.

use chrono::{Datelike, Days, Months, NaiveDate};

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/sales [period] [cut]`.
    Sales(SalesQuery),
    /// `/order <number | last 4 digits of a phone | name>`.
    Order(OrderQuery),
    /// `/stock <sku | name>`, `/stock low`.
    Stock(StockQuery),
    /// `/help`.
    Help,
    /// A known command whose arguments don't parse.
    Invalid {
        /// Which command.
        command: CommandName,
        /// What was wrong, for people.
        reason: String,
    },
    /// Not a command we know.
    Unknown {
        /// What was typed (trimmed).
        input: String,
    },
}

/// The commands, for help texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandName {
    /// `/sales`.
    Sales,
    /// `/order`.
    Order,
    /// `/stock`.
    Stock,
}

/// `/sales`: a period, its previous one and a cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SalesQuery {
    /// The period asked about.
    pub period: Period,
    /// The period it is compared with.
    pub previous: Period,
    /// The rows under the totals.
    pub cut: Cut,
    /// The period runs up to today: its last day isn't over, while the compared period's
    /// days are whole, so the change reads lower than it will be.
    pub ongoing: bool,
}

/// Seoul days from `from` to `to`, both included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// How staff named it: `어제`, `이번 주`, `2026-12-01 ~ 2026-12-07`.
    pub label: String,
}

impl Period {
    /// Days in the period.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// How a sales answer breaks its totals down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Totals only (the answer lists the best-selling products).
    None,
    /// By category.
    Category,
    /// By product.
    Product,
    /// By SKU (variant).
    Sku,
    /// By sales channel.
    Channel,
}

impl Cut {
    /// The admin API's `SalesGroupBy` value.
    pub fn group_by(self) -> &'static str {
        match self {
            Cut::None => "NONE",
            Cut::Category => "CATEGORY",
            Cut::Product => "PRODUCT",
            Cut::Sku => "SKU",
            Cut::Channel => "CHANNEL",
        }
    }

    /// The Korean label of a cut.
    pub fn label(self) -> &'static str {
        match self {
            Cut::None => "",
            Cut::Category => "카테고리별",
            Cut::Product => "상품별",
            Cut::Sku => "SKU별",
            Cut::Channel => "채널별",
        }
    }
}

/// `/order`: what to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderQuery {
    /// An order number, `20261202-000001`.
    Number(String),
    /// The last four digits of a phone number.
    PhoneLast4(String),
    /// A name or part of a number.
    Search(String),
}

/// `/stock`: what to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StockQuery {
    /// Variants at or below their low-stock threshold.
    Low,
    /// A SKU or a product name (or part of one).
    Search(String),
}

const SALES_WORDS: &[&str] = &["sales", "매출"];
const ORDER_WORDS: &[&str] = &["order", "orders", "주문"];
const STOCK_WORDS: &[&str] = &["stock", "재고"];
const HELP_WORDS: &[&str] = &["help", "도움말", "도움", "?", "start"];

/// Parses what staff typed, relative to `today` in Seoul. A leading `/`, mentions of
/// users (`<@U123>`) and surrounding spaces are ignored; an empty text is help.
pub fn parse(text: &str, today: NaiveDate) -> Command {
    let cleaned = strip_mentions(text);
    let trimmed = cleaned.trim();
    let body = trimmed.strip_prefix('/').unwrap_or(trimmed).trim();
    if body.is_empty() {
        return Command::Help;
    }
    let (word, args) = match body.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (body, ""),
    };
    let word = word.to_lowercase();
    if SALES_WORDS.contains(&word.as_str()) {
        parse_sales(args, today)
    } else if ORDER_WORDS.contains(&word.as_str()) {
        parse_order(args)
    } else if STOCK_WORDS.contains(&word.as_str()) {
        parse_stock(args)
    } else if HELP_WORDS.contains(&word.as_str()) {
        Command::Help
    } else {
        Command::Unknown {
            input: body.chars().take(100).collect(),
        }
    }
}

/// The text without `<@U…>` mentions (Slack's form in app mentions).
fn strip_mentions(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<@") {
        out.push_str(&rest[..start]);
        match rest[start..].find('>') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Cut keywords as they read with spaces removed and in lower case; longer ones first.
const CUTS: &[(&str, Cut)] = &[
    ("bycategory", Cut::Category),
    ("byproduct", Cut::Product),
    ("bysku", Cut::Sku),
    ("bychannel", Cut::Channel),
    ("카테고리별", Cut::Category),
    ("분류별", Cut::Category),
    ("상품별", Cut::Product),
    ("제품별", Cut::Product),
    ("sku별", Cut::Sku),
    ("옵션별", Cut::Sku),
    ("채널별", Cut::Channel),
    ("category", Cut::Category),
    ("product", Cut::Product),
    ("sku", Cut::Sku),
    ("channel", Cut::Channel),
];

/// The longest range `/sales` takes.
const MAX_DAYS: i64 = 3 * 366;

fn parse_sales(args: &str, today: NaiveDate) -> Command {
    // Matching with the spaces removed takes `이번 주` like `이번주` and `last week` like
    // `lastweek`; no keyword is a part of another period's.
    let mut compact: String = args
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let mut cut = Cut::None;
    for (word, c) in CUTS {
        if let Some(at) = compact.find(word) {
            compact.replace_range(at..at + word.len(), "");
            cut = *c;
            break;
        }
    }
    match sales_period(&compact, today) {
        Ok((period, previous)) => Command::Sales(SalesQuery {
            ongoing: period.to >= today,
            period,
            previous,
            cut,
        }),
        Err(reason) => Command::Invalid {
            command: CommandName::Sales,
            reason,
        },
    }
}

fn sales_period(p: &str, today: NaiveDate) -> Result<(Period, Period), String> {
    let yesterday = today - Days::new(1);
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let first = today.with_day(1).unwrap_or(today);
    let named = |from: NaiveDate, to: NaiveDate, label: &str| Period {
        from,
        to,
        label: label.to_owned(),
    };
    let dated = |from: NaiveDate, to: NaiveDate| Period {
        from,
        to,
        label: crate::format::range(from, to),
    };
    let week_back = |d: NaiveDate| d - Days::new(7);
    let month_back = |d: NaiveDate| d - Months::new(1);
    Ok(match p {
        "" | "today" | "오늘" | "금일" => (named(today, today, "오늘"), dated(yesterday, yesterday)),
        "yesterday" | "어제" | "전일" => {
            let before = yesterday - Days::new(1);
            (named(yesterday, yesterday, "어제"), dated(before, before))
        }
        "thisweek" | "이번주" | "금주" => (
            named(monday, today, "이번 주"),
            dated(week_back(monday), week_back(today)),
        ),
        "lastweek" | "지난주" | "저번주" | "전주" => {
            let (from, to) = (week_back(monday), monday - Days::new(1));
            (named(from, to, "지난 주"), dated(week_back(from), week_back(to)))
        }
        "thismonth" | "이번달" | "금월" => (
            named(first, today, "이번 달"),
            // Chrono clamps: the 31st a month back is the previous month's last day.
            dated(month_back(first), month_back(today)),
        ),
        "lastmonth" | "지난달" | "저번달" | "전월" => {
            let from = month_back(first);
            let to = first - Days::new(1);
            let before = month_back(from);
            (named(from, to, "지난 달"), dated(before, from - Days::new(1)))
        }
        _ => {
            let (from, to) = dates(p)?;
            if from > to {
                return Err(format!("{from}이(가) {to}보다 늦어요: 이른 날짜를 먼저 써 주세요"));
            }
            if from > today {
                return Err(format!("{from}은(는) 아직 오지 않은 날이에요"));
            }
            let days = (to - from).num_days() + 1;
            if days > MAX_DAYS {
                return Err(format!("한 번에 최대 {MAX_DAYS}일까지 볼 수 있어요"));
            }
            let len = Days::new(u64::try_from(days).unwrap_or(0));
            (dated(from, to), dated(from - len, to - len))
        }
    })
}

/// `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD` (also with `~`).
fn dates(p: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| format!("`{s}`은(는) 기간이나 날짜(예: 2026-12-01)가 아니에요"))
    };
    match p.split_once("..").or_else(|| p.split_once('~')) {
        Some((a, b)) => Ok((date(a)?, date(b)?)),
        None => date(p).map(|d| (d, d)),
    }
}

fn parse_order(args: &str) -> Command {
    let q = args.trim();
    if q.is_empty() {
        return Command::Invalid {
            command: CommandName::Order,
            reason: "어떤 주문인가요? 주문번호, 전화번호 뒤 4자리 또는 이름을 적어 주세요".into(),
        };
    }
    let is_number =
        q.len() == 15 && q.as_bytes()[8] == b'-' && q.bytes().enumerate().all(|(i, b)| i == 8 || b.is_ascii_digit());
    if is_number {
        Command::Order(OrderQuery::Number(q.to_owned()))
    } else if q.len() == 4 && q.bytes().all(|b| b.is_ascii_digit()) {
        Command::Order(OrderQuery::PhoneLast4(q.to_owned()))
    } else {
        Command::Order(OrderQuery::Search(q.chars().take(100).collect()))
    }
}

fn parse_stock(args: &str) -> Command {
    let q = args.trim();
    match q.to_lowercase().as_str() {
        "" => Command::Invalid {
            command: CommandName::Stock,
            reason: "어떤 재고인가요? SKU나 상품명, 또는 `low`를 적어 주세요".into(),
        },
        "low" | "부족" | "품절임박" | "low stock" => Command::Stock(StockQuery::Low),
        _ => Command::Stock(StockQuery::Search(q.chars().take(100).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    /// Thursday 2026-12-10.
    fn today() -> NaiveDate {
        d("2026-12-10")
    }

    fn sales(text: &str) -> SalesQuery {
        match parse(text, today()) {
            Command::Sales(q) => q,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn span(q: &SalesQuery) -> (String, String, String, String) {
        (
            q.period.from.to_string(),
            q.period.to.to_string(),
            q.previous.from.to_string(),
            q.previous.to.to_string(),
        )
    }

    fn s(a: &str, b: &str, c: &str, e: &str) -> (String, String, String, String) {
        (a.into(), b.into(), c.into(), e.into())
    }

    #[test]
    fn days_compare_with_the_day_before() {
        assert_eq!(
            span(&sales("/sales")),
            s("2026-12-10", "2026-12-10", "2026-12-09", "2026-12-09")
        );
        assert_eq!(span(&sales("/sales today")), span(&sales("/sales 오늘")));
        assert_eq!(
            span(&sales("/sales yesterday")),
            s("2026-12-09", "2026-12-09", "2026-12-08", "2026-12-08")
        );
        assert_eq!(sales("/sales 어제").period.label, "어제");
        assert_eq!(span(&sales("/sales 어제")), span(&sales("/sales yesterday")));
    }

    #[test]
    fn periods_up_to_today_are_ongoing() {
        for text in [
            "/sales",
            "/sales 오늘",
            "/sales 이번주 채널별",
            "/sales this month",
            "/sales 2026-12-10",
        ] {
            assert!(sales(text).ongoing, "{text}");
        }
        assert!(sales("/sales 2026-12-01..2026-12-31").ongoing);
        for text in [
            "/sales 어제",
            "/sales last week",
            "/sales 지난달",
            "/sales 2026-12-01..2026-12-09",
        ] {
            assert!(!sales(text).ongoing, "{text}");
        }
    }

    #[test]
    fn weeks_start_on_monday_and_compare_with_the_same_days_a_week_before() {
        assert_eq!(
            span(&sales("/sales this week")),
            s("2026-12-07", "2026-12-10", "2026-11-30", "2026-12-03")
        );
        assert_eq!(span(&sales("/sales 이번주")), span(&sales("/sales this week")));
        assert_eq!(span(&sales("/sales 이번 주")), span(&sales("/sales this week")));
        assert_eq!(
            span(&sales("/sales last week")),
            s("2026-11-30", "2026-12-06", "2026-11-23", "2026-11-29")
        );
        assert_eq!(span(&sales("/sales 지난주")), span(&sales("/sales last week")));
        assert_eq!(span(&sales("/sales 지난 주")), span(&sales("/sales lastweek")));
        // On a Monday, this week is that day alone.
        match parse("/sales this week", d("2026-12-07")) {
            Command::Sales(q) => assert_eq!(q.period.days(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn months_compare_with_the_same_days_or_the_whole_month_before() {
        assert_eq!(
            span(&sales("/sales this month")),
            s("2026-12-01", "2026-12-10", "2026-11-01", "2026-11-10")
        );
        assert_eq!(span(&sales("/sales 이번달")), span(&sales("/sales this month")));
        assert_eq!(
            span(&sales("/sales last month")),
            s("2026-11-01", "2026-11-30", "2026-10-01", "2026-10-31")
        );
        assert_eq!(span(&sales("/sales 지난달")), span(&sales("/sales last month")));
        assert_eq!(span(&sales("/sales 지난 달")), span(&sales("/sales last month")));
        // March 31st: the month before is clamped to February's end.
        match parse("/sales 이번달", d("2027-03-31")) {
            Command::Sales(q) => {
                assert_eq!((q.previous.from, q.previous.to), (d("2027-02-01"), d("2027-02-28")));
            }
            other => panic!("{other:?}"),
        }
        // January: last month is December of the year before.
        match parse("/sales last month", d("2027-01-05")) {
            Command::Sales(q) => {
                assert_eq!((q.period.from, q.period.to), (d("2026-12-01"), d("2026-12-31")));
                assert_eq!((q.previous.from, q.previous.to), (d("2026-11-01"), d("2026-11-30")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates_and_ranges_compare_with_as_many_days_before() {
        assert_eq!(
            span(&sales("/sales 2026-12-01")),
            s("2026-12-01", "2026-12-01", "2026-11-30", "2026-11-30")
        );
        assert_eq!(
            span(&sales("/sales 2026-12-01..2026-12-07")),
            s("2026-12-01", "2026-12-07", "2026-11-24", "2026-11-30")
        );
        assert_eq!(
            span(&sales("/sales 2026-12-01 .. 2026-12-07 by sku")),
            span(&sales("/sales 2026-12-01~2026-12-07"))
        );
        assert_eq!(
            sales("/sales 2026-12-01..2026-12-07").period.label,
            "2026-12-01 ~ 2026-12-07"
        );
    }

    #[test]
    fn cuts_in_english_and_korean_anywhere() {
        assert_eq!(sales("/sales yesterday by channel").cut, Cut::Channel);
        assert_eq!(sales("/sales by product last week").cut, Cut::Product);
        assert_eq!(sales("/sales 이번주 채널별").cut, Cut::Channel);
        assert_eq!(sales("/sales 지난달 상품별").cut, Cut::Product);
        assert_eq!(sales("/sales 지난달 카테고리별").cut, Cut::Category);
        assert_eq!(sales("/sales 오늘 SKU별").cut, Cut::Sku);
        assert_eq!(sales("/sales 이번 주 채널 별").cut, Cut::Channel);
        assert_eq!(sales("/sales BY Category").cut, Cut::Category);
        assert_eq!(sales("/sales 채널별").cut, Cut::Channel);
        assert_eq!(sales("/sales 채널별").period.from, today());
        assert_eq!(sales("/sales 어제").cut, Cut::None);
    }

    #[test]
    fn mentions_and_direct_messages_read_like_commands() {
        assert_eq!(parse("<@U123> sales 어제", today()), parse("/sales 어제", today()));
        assert_eq!(parse("sales 어제", today()), parse("/sales 어제", today()));
        assert_eq!(
            parse("  <@U0BOT>   매출 어제  ", today()),
            parse("/sales yesterday", today())
        );
        assert_eq!(parse("<@U123>", today()), Command::Help);
        assert_eq!(parse("/help", today()), Command::Help);
        assert_eq!(parse("도움말", today()), Command::Help);
    }

    #[test]
    fn bad_periods_say_what_went_wrong() {
        for text in [
            "/sales tomorrow",
            "/sales 2026-13-01",
            "/sales 2026-12-07..2026-12-01",
            "/sales 2027-01-01",
            "/sales 2020-01-01..2026-12-01",
            "/sales yesterday by colour",
        ] {
            match parse(text, today()) {
                Command::Invalid {
                    command: CommandName::Sales,
                    reason,
                } => assert!(!reason.is_empty()),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn orders_by_number_phone_digits_or_name() {
        assert_eq!(
            parse("/order 20261202-000001", today()),
            Command::Order(OrderQuery::Number("20261202-000001".into()))
        );
        assert_eq!(
            parse("/order 5678", today()),
            Command::Order(OrderQuery::PhoneLast4("5678".into()))
        );
        assert_eq!(
            parse("/order 홍길동", today()),
            Command::Order(OrderQuery::Search("홍길동".into()))
        );
        assert_eq!(
            parse("주문 000001", today()),
            Command::Order(OrderQuery::Search("000001".into()))
        );
        assert!(matches!(
            parse("/order", today()),
            Command::Invalid {
                command: CommandName::Order,
                ..
            }
        ));
    }

    #[test]
    fn stock_by_sku_name_or_low() {
        assert_eq!(parse("/stock low", today()), Command::Stock(StockQuery::Low));
        assert_eq!(parse("/stock LOW", today()), Command::Stock(StockQuery::Low));
        assert_eq!(parse("재고 부족", today()), Command::Stock(StockQuery::Low));
        assert_eq!(
            parse("/stock PRO-CHOC-1KG", today()),
            Command::Stock(StockQuery::Search("PRO-CHOC-1KG".into()))
        );
        assert_eq!(
            parse("/stock 프로틴 쉐이크", today()),
            Command::Stock(StockQuery::Search("프로틴 쉐이크".into()))
        );
        assert!(matches!(parse("/stock ", today()), Command::Invalid { .. }));
    }

    #[test]
    fn unknown_commands_keep_what_was_typed() {
        assert_eq!(
            parse("/refund 1234", today()),
            Command::Unknown {
                input: "refund 1234".into()
            }
        );
        assert_eq!(
            parse("hello there", today()),
            Command::Unknown {
                input: "hello there".into()
            }
        );
    }
}
