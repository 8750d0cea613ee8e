//! Inline SVG bar charts: drawn by the browser from the page itself, no script, no image file.
//! Colours come from the style sheet's classes, so a chart and its table agree.

use maud::{Markup, html};

use super::parts::{bytes, count};

/// One part of a chart: a label, its value and its colour class.
pub(super) struct Part {
    pub label: &'static str,
    pub class: &'static str,
    pub value: u64,
}

/// The width of a chart in SVG units; it is drawn at the width of the page.
const WIDTH: u64 = 1000;
/// The narrowest a part that is not zero is drawn, so that it shows.
const MIN_WIDTH: u64 = 6;

/// One bar, split into `parts` (bytes) in proportion, with a legend giving each part's share.
/// Nothing when every part is zero.
pub(super) fn stacked(caption: &str, parts: &[Part]) -> Markup {
    let total: u64 = parts.iter().map(|part| part.value).sum();
    if total == 0 {
        return html! {};
    }
    let mut x = 0;
    let placed: Vec<(&Part, u64, u64)> = parts
        .iter()
        .zip(widths(parts, total))
        .filter(|(_, width)| *width > 0)
        .map(|(part, width)| {
            x += width;
            (part, x - width, width)
        })
        .collect();
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (WIDTH) " 36" } width=(WIDTH) height="36" role="img"
                aria-label=(caption) {
                title { (caption) }
                @for (part, x, width) in placed {
                    rect class=(part.class) x=(x) y="0" width=(width) height="36" {
                        title { (part.label) ": " (bytes(part.value)) }
                    }
                }
            }
            ul.legend {
                @for part in parts.iter().filter(|part| part.value > 0) {
                    li {
                        span class={ "swatch " (part.class) } {}
                        (part.label) ": " (bytes(part.value)) " (" (percent(part.value, total)) ")"
                    }
                }
            }
        }
    }
}

/// One bar per part (bytes), the longest the width of the chart, each labelled with its value.
pub(super) fn bars(caption: &str, parts: &[Part]) -> Markup {
    const ROW: u64 = 30;
    const LABEL: u64 = 230;
    const BAR: u64 = 580;
    let largest = parts.iter().map(|part| part.value).max().unwrap_or(0);
    if largest == 0 {
        return html! {};
    }
    let height = ROW * parts.len() as u64;
    html! {
        figure.chart {
            figcaption { (caption) }
            svg viewBox={ "0 0 " (WIDTH) " " (height) } width=(WIDTH) height=(height) role="img"
                aria-label=(caption) {
                title { (caption) }
                @for (row, part) in parts.iter().enumerate() {
                    @let y = row as u64 * ROW;
                    @let width = scaled(part.value, largest, BAR);
                    text x="0" y=(y + 19) { (part.label) }
                    rect class=(part.class) x=(LABEL) y=(y + 5) width=(width) height="20" {
                        title { (part.label) ": " (count(part.value)) " bytes" }
                    }
                    text x=(LABEL + width + 8) y=(y + 19) { (bytes(part.value)) }
                }
            }
        }
    }
}

/// The widths of `parts` in a bar [`WIDTH`] wide: in proportion, a part that is not zero at
/// least [`MIN_WIDTH`], the rest taken from the widest.
fn widths(parts: &[Part], total: u64) -> Vec<u64> {
    let mut widths: Vec<u64> = parts
        .iter()
        .map(|part| match scaled(part.value, total, WIDTH) {
            _ if part.value == 0 => 0,
            width => width.max(MIN_WIDTH),
        })
        .collect();
    let drawn: u64 = widths.iter().sum();
    if let Some(widest) = widths.iter_mut().max() {
        // Rounding and the minimum may overshoot or fall short by a few units.
        *widest = (*widest + WIDTH).saturating_sub(drawn);
    }
    widths
}

/// `value` of `whole`, on a scale of `length`, rounded.
fn scaled(value: u64, whole: u64, length: u64) -> u64 {
    ((u128::from(value) * u128::from(length) + u128::from(whole) / 2) / u128::from(whole)) as u64
}

/// `12.5%`; `<0.1%` and `>99.9%` for shares that a tenth would round to none or all.
fn percent(value: u64, total: u64) -> String {
    let share = value as f64 * 100.0 / total as f64;
    if share > 0.0 && share < 0.05 {
        "<0.1%".to_owned()
    } else if (99.95..100.0).contains(&share) {
        ">99.9%".to_owned()
    } else {
        format!("{share:.1}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(value: u64) -> Part {
        Part {
            label: "part",
            class: "present",
            value,
        }
    }

    #[test]
    fn a_bar_is_always_exactly_the_chart_wide_and_a_tiny_part_still_shows() {
        let parts = [part(1), part(1_000_000_000), part(0), part(3)];
        let widths = widths(&parts, 1_000_000_004);
        assert_eq!(widths.iter().sum::<u64>(), WIDTH);
        assert_eq!(widths[0], MIN_WIDTH);
        assert_eq!(widths[2], 0);
        assert_eq!(widths[3], MIN_WIDTH);
    }

    #[test]
    fn shares_are_rounded_to_a_tenth_and_the_smallest_are_not_shown_as_zero() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(1, 100_000), "<0.1%");
        assert_eq!(percent(99_999, 100_000), ">99.9%");
        assert_eq!(percent(7, 7), "100.0%");
        assert_eq!(percent(0, 10), "0.0%");
    }

    #[test]
    fn every_part_is_drawn_and_labelled() {
        let chart = stacked("Bytes", &[part(10), part(0), part(30)]).into_string();
        assert_eq!(chart.matches("<rect").count(), 2, "{chart}");
        assert!(chart.contains("75.0%"), "{chart}");
        assert!(bars("Bytes", &[]).into_string().is_empty());
    }
}
