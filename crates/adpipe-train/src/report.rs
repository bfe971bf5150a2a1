//! `report.html`: one self-contained page (no script, no stylesheet or
//! font from elsewhere; the charts are inline SVG drawn by plotters) that
//! says what a trained head learned from what, how often it is right, how
//! sure it is when it is, and what the proposed band would do beside the
//! live model on the same photos.

use std::fmt::Write;

use plotters::prelude::*;

use crate::band::{Band, BandShares};
use crate::evaluate::Metrics;

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ReportInput<'a> {
    pub name: &'a str,
    pub created: &'a str,
    pub backbone: &'a str,
    pub classes: &'a [String],
    pub none: Option<usize>,
    pub counts: &'a [usize],
    pub seed: u64,
    pub folds: usize,
    pub l2: f64,
    pub temperature: f32,
    pub metrics: &'a Metrics,
    pub band: Band,
    /// The proposed band on the held-out predictions.
    pub head: BandShares,
    /// The live model and policy on the same photos, with its name.
    pub live: Option<(&'a str, BandShares)>,
    /// Per example: its top category's held-out score, and whether it
    /// should be published.
    pub scores: &'a [(f32, bool)],
    /// The held-out predictions that were wrong, most confident first.
    pub mistakes: &'a [Mistake],
}

/// A photo the head, not having seen it, put in the wrong class.
#[derive(Debug, Clone)]
pub struct Mistake {
    pub source: String,
    pub truth: String,
    pub predicted: String,
    pub confidence: f32,
}

/// The wrong held-out predictions of `probabilities`, most confident first.
pub fn mistakes(
    probabilities: &[Vec<f32>],
    labels: &[usize],
    classes: &[String],
    sources: &[String],
) -> Vec<Mistake> {
    let mut wrong: Vec<Mistake> = probabilities
        .iter()
        .zip(labels)
        .zip(sources)
        .filter_map(|((row, &label), source)| {
            let predicted = crate::evaluate::argmax(row);
            (predicted != label).then(|| Mistake {
                source: source.clone(),
                truth: classes[label].clone(),
                predicted: classes[predicted].clone(),
                confidence: row[predicted],
            })
        })
        .collect();
    wrong.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    wrong
}

/// How many of the most confident mistakes the page lists.
const MISTAKES_SHOWN: usize = 15;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn percent(count: usize, shares: &BandShares) -> String {
    format!("{count} ({:.1} %)", 100.0 * shares.share(count))
}

pub fn html(input: &ReportInput<'_>) -> String {
    let mut page = String::new();
    let title = format!("Trained head {}", escape(input.name));
    let _ = write!(
        page,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>\
         <h1>{title}</h1><p class=\"meta\">Trained {} on the features of <code>{}</code>; \
         {} examples, {}-fold cross-validation, seed {}, L2 {}. Every figure below is from \
         held-out predictions: each example judged by a head that never saw it.</p>",
        escape(input.created),
        escape(input.backbone),
        input.counts.iter().sum::<usize>(),
        input.folds,
        input.seed,
        input.l2,
    );
    let _ = write!(
        page,
        "<section><h2>At the proposed band</h2><p>approve at <b>{:.2}</b>, review from \
         <b>{:.2}</b> (below it: rejected). Accepting it is your choice: copy it into the \
         policy, or keep <code>policy.toml</code> as written.</p>{}</section>",
        input.band.approve_at,
        input.band.review_at,
        band_table(input),
    );
    let _ = write!(
        page,
        "<section><h2>Per category</h2><p>Accuracy {:.1} %; the temperature that \
         calibrates the logits is {:.3}.</p>{}</section>",
        100.0 * input.metrics.accuracy,
        input.temperature,
        class_table(input),
    );
    let _ = write!(
        page,
        "<section><h2>Confusion</h2><p>Rows: the category a person gave; columns: the \
         most probable one.</p>{}</section>",
        confusion_table(input),
    );
    let _ = write!(
        page,
        "<section><h2>The most confident mistakes</h2><p>Photos the head put in another \
         class without having seen them, surest first: a wrong label in the folders, or a photo \
         that fits two classes, shows up here, and one of them alone can hold the band's \
         <code>approve_at</code> up.</p>{}</section>",
        mistakes_table(input),
    );
    let _ = write!(
        page,
        "<section class=\"charts\"><figure>{}<figcaption>Reliability: in each confidence \
         bin, how often the most probable category was right (the diagonal is perfect \
         calibration). Expected calibration error {:.3}.</figcaption></figure><figure>{}\
         <figcaption>The top category's score, for photos that should be published and for \
         those that should not, with the band's two thresholds.</figcaption></figure>\
         </section></main></body></html>",
        reliability_chart(input.metrics),
        input.metrics.expected_calibration_error,
        score_histogram(input),
    );
    page.push('\n');
    page
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;color:#1d2433;margin:0;background:#f6f7f9}\
main{max-width:980px;margin:0 auto;padding:24px}h1{font-size:24px}h2{font-size:18px;margin-top:28px}\
.meta{color:#555}table{border-collapse:collapse;background:#fff}td,th{border:1px solid #d7dbe2;\
padding:4px 10px;text-align:right}th{background:#eef1f5}td:first-child,th:first-child{text-align:left}\
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:#fff;padding:8px;\
border:1px solid #d7dbe2}figcaption{max-width:480px;font-size:13px;color:#444}code{font-size:13px}";

fn band_table(input: &ReportInput<'_>) -> String {
    let mut rows = vec![("trained head".to_owned(), input.head)];
    if let Some((name, shares)) = input.live {
        rows.push((format!("live: {name}"), shares));
    }
    let mut table = String::from(
        "<table><tr><th>model</th><th>photos</th><th>approved</th><th>for people</th>\
         <th>rejected</th><th>wrongly approved</th><th>wrongly rejected</th></tr>",
    );
    for (name, shares) in rows {
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&name),
            shares.total,
            percent(shares.approved, &shares),
            percent(shares.in_review, &shares),
            percent(shares.rejected, &shares),
            shares.wrongly_approved,
            shares.wrongly_rejected,
        );
    }
    table.push_str("</table>");
    table
}

fn mistakes_table(input: &ReportInput<'_>) -> String {
    if input.mistakes.is_empty() {
        return "<p>None: every held-out prediction was right.</p>".into();
    }
    let mut table = String::from(
        "<table><tr><th>photo</th><th>labelled</th><th>predicted</th><th>confidence</th></tr>",
    );
    for mistake in input.mistakes.iter().take(MISTAKES_SHOWN) {
        let _ = write!(
            table,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
            escape(&mistake.source),
            escape(&mistake.truth),
            escape(&mistake.predicted),
            mistake.confidence
        );
    }
    if input.mistakes.len() > MISTAKES_SHOWN {
        let _ = write!(
            table,
            "<tr><td colspan=\"4\">and {} more</td></tr>",
            input.mistakes.len() - MISTAKES_SHOWN
        );
    }
    table.push_str("</table>");
    table
}

fn class_table(input: &ReportInput<'_>) -> String {
    let mut table = String::from(
        "<table><tr><th>category</th><th>examples</th><th>precision</th><th>recall</th></tr>",
    );
    for (class, metrics) in input.classes.iter().zip(&input.metrics.per_class) {
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{:.1} %</td><td>{:.1} %</td></tr>",
            escape(class),
            metrics.support,
            100.0 * metrics.precision,
            100.0 * metrics.recall
        );
    }
    table.push_str("</table>");
    table
}

fn confusion_table(input: &ReportInput<'_>) -> String {
    let mut table = String::from("<table><tr><th></th>");
    for class in input.classes {
        let _ = write!(table, "<th>{}</th>", escape(class));
    }
    table.push_str("</tr>");
    for (class, row) in input.classes.iter().zip(&input.metrics.confusion) {
        let total = row.iter().sum::<usize>().max(1) as f64;
        let _ = write!(table, "<tr><th>{}</th>", escape(class));
        for &count in row {
            let strength = (count as f64 / total * 0.85 + 0.05).min(0.9);
            let _ = write!(
                table,
                "<td style=\"background:rgba(47,109,216,{strength:.2})\">{count}</td>"
            );
        }
        table.push_str("</tr>");
    }
    table.push_str("</table>");
    table
}

const CHART: (u32, u32) = (480, 340);

fn reliability_chart(metrics: &Metrics) -> String {
    let mut svg = String::new();
    let drawn =
        (|| -> Result<(), Box<dyn std::error::Error>> {
            let root = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption("Reliability", ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(44)
                .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
            chart
                .configure_mesh()
                .x_desc("confidence")
                .y_desc("share right")
                .draw()?;
            chart.draw_series(metrics.reliability.iter().filter(|bin| bin.count > 0).map(
                |bin| {
                    Rectangle::new(
                        [(bin.low + 0.01, 0.0), (bin.high - 0.01, bin.accuracy)],
                        RGBColor(47, 109, 216).mix(0.7).filled(),
                    )
                },
            ))?;
            chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4)))?;
            root.present()?;
            Ok(())
        })();
    match drawn {
        Ok(()) => svg,
        Err(error) => format!("<p>chart not drawn: {}</p>", escape(&error.to_string())),
    }
}

fn score_histogram(input: &ReportInput<'_>) -> String {
    const BINS: usize = 20;
    let mut publish = [0usize; BINS];
    let mut not = [0usize; BINS];
    for &(score, publishable) in input.scores {
        let bin = ((f64::from(score) * BINS as f64) as usize).min(BINS - 1);
        if publishable {
            publish[bin] += 1;
        } else {
            not[bin] += 1;
        }
    }
    let top = publish
        .iter()
        .chain(&not)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut svg = String::new();
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut svg, CHART).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Top category's score", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..1f64, 0f64..top * 1.1)?;
        chart
            .configure_mesh()
            .x_desc("score")
            .y_desc("photos")
            .draw()?;
        let width = 1.0 / BINS as f64;
        for (counts, color, offset, label) in [
            (&publish, RGBColor(47, 109, 216), 0.0, "to publish"),
            (&not, RGBColor(214, 82, 60), width / 2.0, "not to publish"),
        ] {
            chart
                .draw_series(counts.iter().enumerate().filter(|(_, c)| **c > 0).map(
                    |(bin, &count)| {
                        let low = bin as f64 * width + offset;
                        Rectangle::new(
                            [(low, 0.0), (low + width / 2.0, count as f64)],
                            color.mix(0.8).filled(),
                        )
                    },
                ))?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        for threshold in [input.band.review_at, input.band.approve_at] {
            let x = f64::from(threshold);
            chart.draw_series(LineSeries::new([(x, 0.0), (x, top * 1.1)], BLACK.mix(0.6)))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK.mix(0.3))
            .background_style(WHITE)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => svg,
        Err(error) => format!("<p>chart not drawn: {}</p>", escape(&error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_escapes_names() {
        let probabilities = vec![vec![0.9, 0.1], vec![0.2, 0.8], vec![0.6, 0.4]];
        let labels = [0, 1, 1];
        let metrics = Metrics::new(&probabilities, &labels, 2);
        let band = Band {
            approve_at: 0.7,
            review_at: 0.3,
        };
        let classes = vec!["<sofa>".to_owned(), "none".to_owned()];
        let shares = band.shares(&probabilities, &labels, Some(1));
        let page = html(&ReportInput {
            name: "furniture",
            created: "2026-12-07",
            backbone: "models/efficientnet-lite0/model.toml",
            classes: &classes,
            none: Some(1),
            counts: &[1, 2],
            seed: 7,
            folds: 2,
            l2: 0.01,
            temperature: 1.2,
            metrics: &metrics,
            band,
            head: shares,
            live: Some(("efficientnet-lite0 + vehicles", shares)),
            scores: &[(0.9, true), (0.2, false), (0.6, false)],
            mistakes: &mistakes(
                &probabilities,
                &labels,
                &classes,
                &["a.jpg".into(), "b.jpg".into(), "c<1>.jpg".into()],
            ),
        });
        assert!(
            page.contains(
                "<code>c&lt;1&gt;.jpg</code></td><td>none</td><td>&lt;sofa&gt;</td><td>0.60</td>"
            ),
            "{page}"
        );
        assert!(page.contains("&lt;sofa&gt;") && !page.contains("<sofa>"));
        assert_eq!(page.matches("<svg").count(), 2, "two charts: {page}");
        assert!(page.contains("Expected calibration error 0."), "{page}");
        // Nothing fetched from elsewhere (the SVG namespace is a name, not a fetch).
        assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("url("));
        assert!(!page.contains("<script") && !page.contains("<link"));
        assert!(page.contains("approve at <b>0.70</b>"));
    }
}
