//! What a notice says: the subject, plain text and HTML of the email
//! that tells a submitter of a decision (and, for a rejection not yet
//! appealed, how to appeal it; for the answer to an appeal, that it is one).

use adpipe_core::Status;

use crate::Notice;

/// Subject, plain text and HTML of a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `text` with its first letter in lower case ("Your ad" → "your ad").
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

pub fn render(notice: &Notice<'_>) -> Rendered {
    let link = notice.link();
    let id = notice.id;
    // The first sentence, with the id as `shown` (plain, or HTML code).
    let opening = |shown: &str, outcome: &str| {
        if notice.after_appeal {
            format!("After your appeal, a person looked at your ad {shown} again: {outcome}")
        } else {
            format!("Your ad {shown} {outcome}")
        }
    };
    let code = format!("<code>{id}</code>");
    match notice.status {
        Status::Approved => {
            let category = notice.category.unwrap_or("uncategorised");
            let outcome = if notice.after_appeal {
                "it was approved"
            } else {
                "was approved"
            };
            let subject = if notice.after_appeal {
                format!("Your appeal: your ad was approved ({category})")
            } else {
                format!("Your ad was approved ({category})")
            };
            Rendered {
                subject,
                text: format!(
                    "Good news: {} and is published in the category \"{category}\".\n\n\
                     See it here: {link}\n",
                    lower_first(&opening(&id.to_string(), outcome))
                ),
                html: format!(
                    "<p>Good news: {} and is published in the category <strong>{}</strong>.</p>\
                     <p><a href=\"{}\">See your ad</a></p>",
                    lower_first(&opening(&code, outcome)),
                    escape_html(category),
                    escape_html(&link)
                ),
            }
        }
        Status::Rejected | Status::Failed => {
            let reason = notice
                .reason
                .unwrap_or("It does not meet our publishing policy.");
            let (subject, outcome) = if notice.after_appeal {
                (
                    "Your appeal: your ad was not approved",
                    "it is still not approved.",
                )
            } else {
                ("Your ad was not approved", "was not approved.")
            };
            // One appeal per ad: offered with a rejection not yet
            // appealed, and its answer says that was it.
            let (appeal_text, appeal_html) = match notice.appeal_link() {
                Some(appeal) => (
                    format!(
                        "\n\nIf you think this is a mistake, you may appeal once, in a few words, \
                         here:\n{appeal}\nThe link is for you alone; do not share it."
                    ),
                    format!(
                        "<p>If you think this is a mistake, you may appeal once, in a few words: \
                         <a href=\"{}\">appeal this decision</a>. The link is for you alone; \
                         do not share it.</p>",
                        escape_html(&appeal)
                    ),
                ),
                None if notice.after_appeal => (
                    "\n\nThis answers your appeal; an ad can be appealed once.".to_owned(),
                    "<p>This answers your appeal; an ad can be appealed once.</p>".to_owned(),
                ),
                None => (String::new(), String::new()),
            };
            Rendered {
                subject: subject.into(),
                text: format!(
                    "{}\n\nWhy: {reason}{appeal_text}\n\nStatus: {link}\n",
                    opening(&id.to_string(), outcome)
                ),
                html: format!(
                    "<p>{}</p><p>Why: {}</p>{appeal_html}\
                     <p><a href=\"{}\">Status of your ad</a></p>",
                    opening(&code, outcome),
                    escape_html(reason),
                    escape_html(&link)
                ),
            }
        }
        // Never sent (the outbox waits for a final decision); worded for
        // completeness should a caller ask.
        Status::InReview => Rendered {
            subject: "A person is checking your ad".into(),
            text: format!("A person is checking your ad {id}.\n\nStatus: {link}\n"),
            html: format!(
                "<p>A person is checking your ad <code>{id}</code>.</p><p><a href=\"{}\">Status</a></p>",
                escape_html(&link)
            ),
        },
        Status::Pending => Rendered {
            subject: "Your ad is in the review queue".into(),
            text: format!("Your ad {id} is in the review queue.\n\nStatus: {link}\n"),
            html: format!(
                "<p>Your ad <code>{id}</code> is in the review queue.</p><p><a href=\"{}\">Status</a></p>",
                escape_html(&link)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use adpipe_core::AdId;

    use super::*;

    #[test]
    fn approved_mail_names_the_category_and_links_the_ad() {
        let id = AdId::new();
        let rendered = render(&Notice {
            id,
            to: "ana@example.com",
            status: Status::Approved,
            category: Some("bicycle"),
            reason: None,
            decided_at: 1,
            public_url: "https://ads.example.com/",
            appeal_secret: None,
            after_appeal: false,
        });
        assert_eq!(rendered.subject, "Your ad was approved (bicycle)");
        // The human page, not the JSON of the API.
        assert!(
            rendered
                .text
                .contains(&format!("https://ads.example.com/?id={id}\n")),
            "{}",
            rendered.text
        );
        assert!(rendered.html.contains("<strong>bicycle</strong>"));
    }

    #[test]
    fn rejected_mail_says_why_and_escapes_it() {
        let rendered = render(&Notice {
            id: AdId::new(),
            to: "ana@example.com",
            status: Status::Rejected,
            category: None,
            reason: Some("We only publish ads for <vehicles>."),
            decided_at: 1,
            public_url: "http://localhost:8080",
            appeal_secret: None,
            after_appeal: false,
        });
        assert_eq!(rendered.subject, "Your ad was not approved");
        assert!(
            rendered
                .text
                .contains("We only publish ads for <vehicles>.")
        );
        assert!(rendered.html.contains("&lt;vehicles&gt;"));
    }

    #[test]
    fn a_rejection_offers_its_one_appeal_and_the_answer_says_so() {
        let id = AdId::new();
        let secret = "0123456789abcdef0123456789abcdef";
        let rejected = Notice {
            id,
            to: "ana@example.com",
            status: Status::Rejected,
            category: None,
            reason: Some("Not a vehicle."),
            decided_at: 1,
            public_url: "https://ads.example.com/",
            appeal_secret: Some(secret),
            after_appeal: false,
        };
        let link = format!("https://ads.example.com/?id={id}&appeal={secret}");
        let rendered = render(&rejected);
        assert_eq!(rendered.subject, "Your ad was not approved");
        assert!(
            rendered
                .text
                .contains(&format!("appeal once, in a few words, here:\n{link}\n"))
        );
        assert!(
            rendered.html.contains(&escape_html(&link)),
            "{}",
            rendered.html
        );
        // Without a secret (appealed already), or for a failed ad: no link.
        for notice in [
            Notice {
                appeal_secret: None,
                ..rejected.clone()
            },
            Notice {
                status: Status::Failed,
                ..rejected.clone()
            },
        ] {
            assert!(!render(&notice).text.contains("appeal="));
        }
        // The answer to the appeal says what it is.
        let still = render(&Notice {
            appeal_secret: None,
            after_appeal: true,
            decided_at: 2,
            ..rejected.clone()
        });
        assert_eq!(still.subject, "Your appeal: your ad was not approved");
        assert!(
            still.text.starts_with(&format!(
                "After your appeal, a person looked at your ad {id} again: it is still not approved."
            )),
            "{}",
            still.text
        );
        assert!(!still.text.contains("appeal="));
        let approved = render(&Notice {
            status: Status::Approved,
            category: Some("car"),
            reason: None,
            appeal_secret: None,
            after_appeal: true,
            ..rejected
        });
        assert_eq!(approved.subject, "Your appeal: your ad was approved (car)");
        assert!(
            approved.text.starts_with("Good news: after your appeal"),
            "{}",
            approved.text
        );
    }
}
