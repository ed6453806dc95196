//! Every chart renders to a PNG of the asked size that decodes and shows something, and to an
//! SVG that carries its Korean title; awkward data draws rather than panics; bad input is an
//! error.

use std::collections::HashSet;

use charts::{ChannelBars, Error, Format, Granularity, Members, SalesLine, Size, TopBars};
use chrono::{Days, Months, NaiveDate};

const SIZE: Size = Size {
    width: 1200,
    height: 600,
};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn days(start: NaiveDate, n: u64) -> Vec<NaiveDate> {
    (0..n).map(|i| start + Days::new(i)).collect()
}

fn sales(n: u64) -> SalesLine {
    let values = |base: i64| {
        (0..n)
            .map(|i| base + i64::try_from(i * 37_000 % 900_000).unwrap_or(0))
            .collect()
    };
    SalesLine {
        title: "순매출".into(),
        granularity: Granularity::Day,
        periods: days(date(2026, 11, 1), n),
        current: values(2_000_000),
        current_label: "이번 달".into(),
        previous: Some(values(1_500_000)),
        previous_label: "지난달".into(),
    }
}

fn channels() -> ChannelBars {
    ChannelBars {
        title: "채널별 매출".into(),
        granularity: Granularity::Week,
        periods: (0..8).map(|w| date(2026, 10, 5) + Days::new(w * 7)).collect(),
        series: vec![
            ("PC웹".into(), vec![8_000_000; 8]),
            ("모바일웹".into(), vec![21_000_000; 8]),
            ("앱".into(), vec![14_000_000; 8]),
            (
                "외부몰".into(),
                vec![
                    6_000_000, -1_000_000, 5_000_000, 0, 7_000_000, 6_500_000, 3_000_000, 2_000_000,
                ],
            ),
        ],
    }
}

fn top() -> TopBars {
    TopBars {
        title: "상위 상품".into(),
        bars: vec![
            ("유기농 현미 10kg".into(), 48_300_000),
            ("국산 들기름".into(), 22_800_000),
            ("참깨".into(), 9_870_000),
        ],
    }
}

fn members() -> Members {
    Members {
        title: "회원".into(),
        granularity: Granularity::Month,
        periods: (0..12).map(|m| date(2026, 1, 1) + Months::new(m)).collect(),
        sign_ups: vec![420, 380, 510, 600, 450, 300, 280, 330, 470, 520, 610, 590],
        repeat_rate: vec![0.21, 0.22, 0.25, 0.24, 0.27, 0.3, 0.28, 0.26, 0.25, 0.29, 0.31, 0.33],
    }
}

/// Decodes `png`, checks its size and that it holds more than a flat background; returns the
/// distinct colours.
fn check_png(png: &[u8], size: Size) -> usize {
    let image = image::load_from_memory_with_format(png, image::ImageFormat::Png).expect("a PNG that decodes");
    assert_eq!((image.width(), image.height()), (size.width, size.height));
    let colours: HashSet<_> = image.to_rgb8().pixels().map(|p| p.0).collect();
    assert!(colours.len() > 10, "only {} colours: an empty picture", colours.len());
    colours.len()
}

fn svg(bytes: Vec<u8>) -> String {
    let svg = String::from_utf8(bytes).expect("SVG is UTF-8");
    assert!(svg.starts_with("<svg"), "not an SVG: {}", &svg[..svg.len().min(80)]);
    svg
}

/// The text of every `<text>` element, in order.
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")))
        .map(|(t, _)| t.trim())
        .collect()
}

#[test]
fn sales_line_draws_both_formats_with_the_range_in_the_title() {
    let chart = sales(30);
    check_png(&charts::sales_line(&chart, SIZE, Format::Png).expect("renders"), SIZE);
    let svg = svg(charts::sales_line(&chart, SIZE, Format::Svg).expect("renders"));
    assert!(
        texts(&svg).contains(&"순매출 2026년 11월 1일 – 11월 30일"),
        "{:?}",
        texts(&svg)
    );
    assert!(texts(&svg).contains(&"이번 달") && texts(&svg).contains(&"지난달"));
    assert!(
        texts(&svg).contains(&"300만"),
        "won in 만 on the axis: {:?}",
        texts(&svg)
    );
    assert!(svg.contains("font-family=\"NanumGothic, sans-serif\""));
}

#[test]
fn channel_bars_draw_both_formats_with_every_channel_in_the_legend() {
    let chart = channels();
    check_png(&charts::channel_bars(&chart, SIZE, Format::Png).expect("renders"), SIZE);
    let svg = svg(charts::channel_bars(&chart, SIZE, Format::Svg).expect("renders"));
    let texts = texts(&svg);
    assert!(texts.contains(&"채널별 매출 2026년 10월 1주 – 11월 4주"), "{texts:?}");
    for channel in ["PC웹", "모바일웹", "앱", "외부몰"] {
        assert!(texts.contains(&channel), "{channel} missing from {texts:?}");
    }
    assert!(texts.contains(&"10월 1주"));
}

#[test]
fn top_bars_draw_both_formats_with_their_amounts() {
    let chart = top();
    let size = Size {
        width: 800,
        height: 400,
    };
    check_png(&charts::top_bars(&chart, size, Format::Png).expect("renders"), size);
    let svg = svg(charts::top_bars(&chart, size, Format::Svg).expect("renders"));
    let texts = texts(&svg);
    assert!(
        texts.contains(&"상위 상품") && texts.contains(&"유기농 현미 10kg"),
        "{texts:?}"
    );
    assert!(texts.contains(&"4,830만") && texts.contains(&"987만"), "{texts:?}");
}

#[test]
fn members_draw_two_labelled_scales() {
    let chart = members();
    check_png(&charts::members(&chart, SIZE, Format::Png).expect("renders"), SIZE);
    let svg = svg(charts::members(&chart, SIZE, Format::Svg).expect("renders"));
    let texts = texts(&svg);
    assert!(texts.contains(&"회원 2026년 1월 – 12월"), "{texts:?}");
    assert!(texts.contains(&"가입(명)") && texts.contains(&"재구매율"), "{texts:?}");
    assert!(texts.contains(&"600") && texts.contains(&"0%"), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.ends_with('%') && *t != "0%"),
        "a percent scale: {texts:?}"
    );
}

#[test]
fn the_smallest_and_largest_sizes_render() {
    for size in [
        Size {
            width: 200,
            height: 200,
        },
        Size {
            width: 2000,
            height: 2000,
        },
        Size {
            width: 2000,
            height: 200,
        },
    ] {
        check_png(
            &charts::sales_line(&sales(30), size, Format::Png).expect("renders"),
            size,
        );
        check_png(
            &charts::channel_bars(&channels(), size, Format::Png).expect("renders"),
            size,
        );
        check_png(&charts::top_bars(&top(), size, Format::Png).expect("renders"), size);
        check_png(&charts::members(&members(), size, Format::Png).expect("renders"), size);
    }
}

#[test]
fn sizes_out_of_bounds_are_refused() {
    for (width, height) in [(199, 600), (1200, 2001), (0, 0), (u32::MAX, 600)] {
        let size = Size { width, height };
        let result = charts::sales_line(&sales(3), size, Format::Png);
        assert!(matches!(result, Err(Error::SizeOutOfBounds { width: w, height: h }) if (w, h) == (width, height)));
        assert!(matches!(
            charts::top_bars(&top(), size, Format::Svg),
            Err(Error::SizeOutOfBounds { .. })
        ));
    }
}

#[test]
fn series_that_disagree_with_the_periods_are_refused() {
    let short = SalesLine {
        previous: Some(vec![1, 2]),
        ..sales(3)
    };
    let err = charts::sales_line(&short, SIZE, Format::Png).expect_err("two values for three days");
    assert!(
        matches!(&err, Error::LengthMismatch { series, expected: 3, found: 2 } if series == "previous"),
        "{err}"
    );

    let mut bars = channels();
    bars.series[2].1.pop();
    let err = charts::channel_bars(&bars, SIZE, Format::Png).expect_err("a short channel");
    assert!(
        matches!(&err, Error::LengthMismatch { series, .. } if series == "앱"),
        "{err}"
    );

    let rates = Members {
        repeat_rate: vec![0.2],
        ..members()
    };
    assert!(matches!(
        charts::members(&rates, SIZE, Format::Svg),
        Err(Error::LengthMismatch { .. })
    ));
}

#[test]
fn rates_outside_zero_to_one_and_negative_sign_ups_are_refused() {
    for bad in [1.5, -0.1, f64::NAN, f64::INFINITY] {
        let mut chart = members();
        chart.repeat_rate[3] = bad;
        let err = charts::members(&chart, SIZE, Format::Png).expect_err("a rate out of range");
        assert!(
            matches!(&err, Error::InvalidValue { series, index: 3 } if series == "repeat_rate"),
            "{err}"
        );
    }
    let mut chart = members();
    chart.sign_ups[0] = -1;
    assert!(matches!(
        charts::members(&chart, SIZE, Format::Png),
        Err(Error::InvalidValue { index: 0, .. })
    ));
}

#[test]
fn no_data_draws_the_title_and_says_so() {
    let empty = SalesLine {
        periods: vec![],
        current: vec![],
        previous: Some(vec![]),
        ..sales(0)
    };
    let bars = ChannelBars {
        periods: vec![],
        series: vec![],
        ..channels()
    };
    let no_top = TopBars { bars: vec![], ..top() };
    let nobody = Members {
        periods: vec![],
        sign_ups: vec![],
        repeat_rate: vec![],
        ..members()
    };
    let outputs = [
        charts::sales_line(&empty, SIZE, Format::Svg),
        charts::channel_bars(&bars, SIZE, Format::Svg),
        charts::top_bars(&no_top, SIZE, Format::Svg),
        charts::members(&nobody, SIZE, Format::Svg),
    ];
    for output in outputs {
        let drawn = svg(output.expect("renders"));
        assert!(texts(&drawn).contains(&"데이터 없음"), "{:?}", texts(&drawn));
    }
    let png = charts::sales_line(&empty, SIZE, Format::Png).expect("renders");
    check_png(&png, SIZE);
    assert!(texts(&svg(charts::sales_line(&empty, SIZE, Format::Svg).expect("renders"))).contains(&"순매출"));
}

#[test]
fn one_period_draws_a_point_with_its_amount() {
    let one = SalesLine {
        periods: vec![date(2026, 11, 24)],
        current: vec![1_234_500],
        previous: None,
        ..sales(0)
    };
    check_png(&charts::sales_line(&one, SIZE, Format::Png).expect("renders"), SIZE);
    let svg = svg(charts::sales_line(&one, SIZE, Format::Svg).expect("renders"));
    let texts = texts(&svg);
    assert!(
        texts.contains(&"순매출 2026년 11월 24일") && texts.contains(&"₩1,234,500"),
        "{texts:?}"
    );
    assert!(svg.contains("<circle"), "a marker for the lone value");
    // A scale from zero up past the value.
    assert!(texts.contains(&"0") && texts.contains(&"140만"), "{texts:?}");
}

#[test]
fn all_zeros_get_a_small_positive_scale() {
    let zeros = SalesLine {
        current: vec![0; 7],
        previous: Some(vec![0; 7]),
        ..sales(7)
    };
    let svg = svg(charts::sales_line(&zeros, SIZE, Format::Svg).expect("renders"));
    let texts = texts(&svg);
    assert!(texts.contains(&"0") && texts.contains(&"1만"), "{texts:?}");
    let flat = Members {
        sign_ups: vec![0; 12],
        repeat_rate: vec![0.0; 12],
        ..members()
    };
    check_png(&charts::members(&flat, SIZE, Format::Png).expect("renders"), SIZE);
    let flat_bars = ChannelBars {
        series: vec![("앱".into(), vec![0; 8])],
        ..channels()
    };
    check_png(
        &charts::channel_bars(&flat_bars, SIZE, Format::Png).expect("renders"),
        SIZE,
    );
    let flat_top = TopBars {
        bars: vec![("없음".into(), 0)],
        ..top()
    };
    check_png(&charts::top_bars(&flat_top, SIZE, Format::Png).expect("renders"), SIZE);
}

#[test]
fn refunds_below_zero_and_huge_amounts_draw() {
    let mixed = SalesLine {
        current: vec![-3_000_000, 1_000_000_000_000, 0, 5],
        previous: Some(vec![i64::MAX, i64::MIN, 0, -1]),
        ..sales(4)
    };
    for format in [Format::Png, Format::Svg] {
        charts::sales_line(&mixed, SIZE, format).expect("renders");
    }
    let huge = SalesLine {
        current: vec![1_000_000_000_000, 1_200_000_000_000],
        previous: None,
        ..sales(2)
    };
    let drawn = svg(charts::sales_line(&huge, SIZE, Format::Svg).expect("renders"));
    assert!(texts(&drawn).iter().any(|t| t.ends_with('조')), "{:?}", texts(&drawn));
    let refunds = TopBars {
        bars: vec![("반품".into(), -1_200_000), ("정상".into(), i64::MAX)],
        ..top()
    };
    check_png(&charts::top_bars(&refunds, SIZE, Format::Png).expect("renders"), SIZE);
    let stacked = ChannelBars {
        series: vec![
            ("앱".into(), vec![i64::MAX; 8]),
            ("웹".into(), vec![i64::MAX; 8]),
            ("외부몰".into(), vec![i64::MIN; 8]),
        ],
        ..channels()
    };
    check_png(
        &charts::channel_bars(&stacked, SIZE, Format::Png).expect("renders"),
        SIZE,
    );
}

#[test]
fn long_hangul_labels_end_in_an_ellipsis() {
    let long = "제주 감귤 5kg 선물세트 (설 명절 한정, 무료배송, 당도 선별 프리미엄 특대과, 산지 직송) ".repeat(4);
    let chart = TopBars {
        title: long.repeat(3),
        bars: vec![(long.clone(), 35_120_000), ("참깨".into(), 9_870_000)],
    };
    let size = Size {
        width: 600,
        height: 300,
    };
    let drawn = svg(charts::top_bars(&chart, size, Format::Svg).expect("renders"));
    let labels = texts(&drawn);
    let cut: Vec<_> = labels.iter().filter(|t| t.ends_with('…')).collect();
    assert_eq!(cut.len(), 2, "the title and the long label are cut: {labels:?}");
    assert!(cut.iter().all(|t| long.starts_with(t.trim_end_matches('…'))), "{cut:?}");
    assert!(!labels.iter().any(|t| t.contains(long.trim_end())), "{labels:?}");
    check_png(&charts::top_bars(&chart, size, Format::Png).expect("renders"), size);

    let channels = ChannelBars {
        series: vec![(long.clone(), vec![1; 8]), ("앱".into(), vec![2; 8])],
        ..channels()
    };
    let legend = svg(charts::channel_bars(&channels, size, Format::Svg).expect("renders"));
    assert!(
        texts(&legend).iter().any(|t| t.ends_with('…')),
        "a long channel name is cut in the legend"
    );
}

#[test]
fn markup_and_control_characters_in_labels_keep_the_svg_well_formed() {
    let chart = TopBars {
        title: "<b>상위</b> & \"특가\"\n\u{0}".into(),
        bars: vec![("A&B <상품>".into(), 1_000)],
    };
    let drawn = svg(charts::top_bars(&chart, SIZE, Format::Svg).expect("renders"));
    assert!(
        drawn.contains("&lt;b&gt;상위&lt;/b&gt; &amp;") && drawn.contains("A&amp;B &lt;상품&gt;"),
        "{drawn}"
    );
    assert!(!drawn.contains('\u{0}') && !drawn.contains("<b>"), "{drawn}");
    check_png(&charts::top_bars(&chart, SIZE, Format::Png).expect("renders"), SIZE);
}

#[test]
fn many_channels_fold_into_a_count_and_leave_room_for_the_plot() {
    let series = (0..60)
        .map(|k| (format!("판매 채널 {k}번 (오픈마켓)"), vec![k * 1_000; 8]))
        .collect();
    let chart = ChannelBars { series, ..channels() };
    for size in [
        Size {
            width: 200,
            height: 200,
        },
        SIZE,
    ] {
        check_png(&charts::channel_bars(&chart, size, Format::Png).expect("renders"), size);
        let drawn = svg(charts::channel_bars(&chart, size, Format::Svg).expect("renders"));
        assert!(
            texts(&drawn).iter().any(|t| t.starts_with("외 ") && t.ends_with('개')),
            "{:?}",
            texts(&drawn)
        );
    }
}

#[test]
fn a_year_of_days_is_labelled_without_crowding() {
    let chart = SalesLine {
        previous: None,
        ..sales(365)
    };
    let svg = svg(charts::sales_line(&chart, SIZE, Format::Svg).expect("renders"));
    let dates: Vec<_> = texts(&svg)
        .into_iter()
        .filter(|t| t.ends_with('일') && t.contains('월') && !t.starts_with("순매출"))
        .collect();
    // Month starts: twelve fit in 1200 pixels; 365 would be a black smear.
    assert!((6..=13).contains(&dates.len()), "{dates:?}");
    assert!(dates.iter().all(|d| d.ends_with(" 1일")), "{dates:?}");
    check_png(&charts::sales_line(&chart, SIZE, Format::Png).expect("renders"), SIZE);
}

#[test]
fn rendering_is_deterministic() {
    let chart = channels();
    let a = charts::channel_bars(&chart, SIZE, Format::Png).expect("renders");
    let b = charts::channel_bars(&chart, SIZE, Format::Png).expect("renders");
    assert!(a == b, "same data, same bytes");
}

#[test]
fn formats_name_their_media_types() {
    assert_eq!(
        (Format::Png.content_type(), Format::Png.extension()),
        ("image/png", "png")
    );
    assert_eq!(
        (Format::Svg.content_type(), Format::Svg.extension()),
        ("image/svg+xml", "svg")
    );
}
