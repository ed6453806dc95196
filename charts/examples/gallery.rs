//! Writes every chart, with sample data and the awkward cases, as PNG and SVG into a folder,
//! to look at: `cargo run -p jangteo-charts --example gallery -- /tmp/charts`.

use std::path::Path;

use charts::{ChannelBars, Format, Granularity, Members, SalesLine, Size, TopBars};
use chrono::{Days, Months, NaiveDate};

type Render<'a> = &'a dyn Fn(Size, Format) -> std::result::Result<Vec<u8>, charts::Error>;
type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

const BIG: Size = Size {
    width: 1200,
    height: 600,
};
const SMALL: Size = Size {
    width: 400,
    height: 260,
};
const TINY: Size = Size {
    width: 200,
    height: 200,
};

fn main() -> Result {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "charts-gallery".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    sales(dir)?;
    channels(dir)?;
    top(dir)?;
    members(dir)
}

/// Both formats of one chart, with how long each took.
fn save(dir: &Path, name: &str, render: Render<'_>, size: Size) -> Result {
    for format in [Format::Png, Format::Svg] {
        let started = std::time::Instant::now();
        let bytes = render(size, format)?;
        println!(
            "{name}.{}: {} bytes in {:?}",
            format.extension(),
            bytes.len(),
            started.elapsed()
        );
        std::fs::write(dir.join(format!("{name}.{}", format.extension())), bytes)?;
    }
    Ok(())
}

fn sales(dir: &Path) -> Result {
    let nov = days(date(2026, 11, 1), 30);
    let sales = SalesLine {
        title: "순매출".into(),
        granularity: Granularity::Day,
        periods: nov.clone(),
        current: wave(30, 3_200_000, 1_400_000, 1),
        current_label: "이번 달".into(),
        previous: Some(wave(30, 2_700_000, 900_000, 7)),
        previous_label: "지난달".into(),
    };
    save(dir, "sales_month", &|s, f| charts::sales_line(&sales, s, f), BIG)?;
    save(
        dir,
        "sales_month_small",
        &|s, f| charts::sales_line(&sales, s, f),
        SMALL,
    )?;
    save(dir, "sales_month_tiny", &|s, f| charts::sales_line(&sales, s, f), TINY)?;

    let year = days(date(2026, 1, 1), 365);
    let sales_year = SalesLine {
        periods: year.clone(),
        current: wave(365, 45_000_000, 25_000_000, 3),
        previous: None,
        ..sales.clone()
    };
    save(dir, "sales_year", &|s, f| charts::sales_line(&sales_year, s, f), BIG)?;
    let one = SalesLine {
        periods: vec![date(2026, 11, 24)],
        current: vec![1_234_500],
        previous: None,
        ..sales.clone()
    };
    save(dir, "sales_one", &|s, f| charts::sales_line(&one, s, f), BIG)?;
    let zeros = SalesLine {
        current: vec![0; 30],
        previous: Some(vec![0; 30]),
        ..sales.clone()
    };
    save(dir, "sales_zeros", &|s, f| charts::sales_line(&zeros, s, f), BIG)?;
    let empty = SalesLine {
        periods: vec![],
        current: vec![],
        previous: None,
        ..sales.clone()
    };
    save(dir, "sales_empty", &|s, f| charts::sales_line(&empty, s, f), BIG)?;
    let refunds = SalesLine {
        current: wave(30, 200_000, 900_000, 5),
        previous: Some(wave(30, 1_000_000_000_000, 300_000_000_000, 2)),
        ..sales.clone()
    };
    save(
        dir,
        "sales_refunds_huge",
        &|s, f| charts::sales_line(&refunds, s, f),
        BIG,
    )
}

fn channels(dir: &Path) -> Result {
    let year = days(date(2026, 1, 1), 365);

    let weeks: Vec<NaiveDate> = (0..12).map(|w| date(2026, 9, 7) + Days::new(w * 7)).collect();
    let channels = ChannelBars {
        title: "채널별 매출".into(),
        granularity: Granularity::Week,
        periods: weeks.clone(),
        series: vec![
            ("PC웹".into(), wave(12, 8_000_000, 3_000_000, 1)),
            ("모바일웹".into(), wave(12, 21_000_000, 6_000_000, 2)),
            ("앱".into(), wave(12, 14_000_000, 5_000_000, 3)),
            ("외부몰".into(), wave(12, 6_000_000, 7_000_000, 4)),
        ],
    };
    save(
        dir,
        "channels_weeks",
        &|s, f| charts::channel_bars(&channels, s, f),
        BIG,
    )?;
    save(
        dir,
        "channels_weeks_small",
        &|s, f| charts::channel_bars(&channels, s, f),
        SMALL,
    )?;
    let months: Vec<NaiveDate> = (0..18).map(|m| date(2025, 7, 1) + Months::new(m)).collect();
    let channels_months = ChannelBars {
        granularity: Granularity::Month,
        periods: months.clone(),
        series: vec![
            ("PC웹".into(), wave(18, 80_000_000, 30_000_000, 1)),
            ("모바일웹".into(), wave(18, 210_000_000, 60_000_000, 2)),
            ("앱".into(), wave(18, 140_000_000, 50_000_000, 3)),
            (
                "외부몰 (스마트스토어, 쿠팡, 11번가, 지마켓 등 오픈마켓 전체)".into(),
                wave(18, 60_000_000, 70_000_000, 4),
            ),
        ],
        ..channels.clone()
    };
    save(
        dir,
        "channels_months",
        &|s, f| charts::channel_bars(&channels_months, s, f),
        BIG,
    )?;
    let channels_one = ChannelBars {
        periods: vec![date(2026, 11, 1)],
        series: vec![("PC웹".into(), vec![1_000_000]), ("앱".into(), vec![2_500_000])],
        granularity: Granularity::Month,
        ..channels.clone()
    };
    save(
        dir,
        "channels_one",
        &|s, f| charts::channel_bars(&channels_one, s, f),
        BIG,
    )?;
    let channels_days = ChannelBars {
        granularity: Granularity::Day,
        periods: year.clone(),
        series: vec![
            ("PC웹".into(), wave(365, 800_000, 300_000, 1)),
            ("모바일웹".into(), wave(365, 2_100_000, 600_000, 2)),
            ("앱".into(), wave(365, 1_400_000, 500_000, 3)),
        ],
        ..channels.clone()
    };
    save(
        dir,
        "channels_year_days",
        &|s, f| charts::channel_bars(&channels_days, s, f),
        BIG,
    )?;
    let crowd = ChannelBars {
        series: (0..40)
            .map(|k| (format!("판매 채널 {k}번"), wave(12, 1_000_000, 500_000, k)))
            .collect(),
        ..channels.clone()
    };
    save(dir, "channels_crowd", &|s, f| charts::channel_bars(&crowd, s, f), BIG)?;
    save(
        dir,
        "channels_crowd_tiny",
        &|s, f| charts::channel_bars(&crowd, s, f),
        TINY,
    )
}

fn top(dir: &Path) -> Result {
    let top = TopBars {
        title: "상위 상품 2026년 11월 1일 – 11월 30일".into(),
        bars: vec![
            ("유기농 현미 10kg".into(), 48_300_000),
            (
                "제주 감귤 5kg 선물세트 (설 명절 한정, 무료배송, 당도 선별 프리미엄 특대과)".into(),
                35_120_000,
            ),
            ("국산 들기름 350ml".into(), 22_800_000),
            ("참깨 1kg".into(), 9_870_000),
            ("무농약 고춧가루 500g".into(), 4_500_000),
            ("수제 유자청 1kg".into(), 980_000),
            ("반품 많은 상품".into(), -1_200_000),
        ],
    };
    save(
        dir,
        "top",
        &|s, f| charts::top_bars(&top, s, f),
        Size {
            width: 900,
            height: 500,
        },
    )?;
    save(dir, "top_small", &|s, f| charts::top_bars(&top, s, f), SMALL)?;
    let many = TopBars {
        title: "상위 카테고리".into(),
        bars: (0..60)
            .map(|i| (format!("카테고리 {i}"), 10_000_000 - i * 150_000))
            .collect(),
    };
    save(
        dir,
        "top_many",
        &|s, f| charts::top_bars(&many, s, f),
        Size {
            width: 900,
            height: 500,
        },
    )
}

fn members(dir: &Path) -> Result {
    let months: Vec<NaiveDate> = (0..18).map(|m| date(2025, 7, 1) + Months::new(m)).collect();
    let nov = days(date(2026, 11, 1), 30);

    let member = Members {
        title: "회원".into(),
        granularity: Granularity::Month,
        periods: months.clone(),
        sign_ups: wave(18, 420, 180, 2),
        repeat_rate: (0..18).map(|i| 0.22 + 0.01 * f64::from(i % 7)).collect(),
    };
    save(dir, "members_months", &|s, f| charts::members(&member, s, f), BIG)?;
    save(
        dir,
        "members_months_small",
        &|s, f| charts::members(&member, s, f),
        SMALL,
    )?;
    save(dir, "members_months_tiny", &|s, f| charts::members(&member, s, f), TINY)?;
    save(
        dir,
        "members_months_wide",
        &|s, f| charts::members(&member, s, f),
        Size {
            width: 2000,
            height: 200,
        },
    )?;
    let member_zero = Members {
        granularity: Granularity::Day,
        periods: nov.clone(),
        sign_ups: vec![0; 30],
        repeat_rate: vec![0.0; 30],
        ..member.clone()
    };
    save(dir, "members_zeros", &|s, f| charts::members(&member_zero, s, f), BIG)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid sample date")
}

fn days(start: NaiveDate, n: u64) -> Vec<NaiveDate> {
    (0..n).map(|i| start + Days::new(i)).collect()
}

/// Plausible ups and downs around `mid`, without a random number generator.
fn wave(n: usize, mid: i64, swing: i64, seed: u32) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let t = f64::from(u32::try_from(i).unwrap_or(0)) + f64::from(seed) * 1.7;
            let shape = (t * 0.45).sin() * 0.6 + (t * 1.3 + f64::from(seed)).sin() * 0.4;
            #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
            let v = mid + (shape * swing as f64) as i64;
            v
        })
        .collect()
}
