//! Greedy CTC decoding of the recogniser's output (`[output] kind = "ctc"`).

/// The text of one line and the mean probability of the steps it keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub text: String,
    /// 0 when no step is kept.
    pub confidence: f32,
}

/// Decodes `steps` rows of `classes.len()` probabilities (`probabilities`
/// row-major): the best class per step (the first on a tie), a step that
/// repeats the previous step's class and the blank (class 0) dropped; each
/// kept class's text joined. The confidence is the mean best probability
/// of the kept steps.
pub fn greedy_decode<S: AsRef<str>>(probabilities: &[f32], classes: &[S]) -> Decoded {
    let mut text = String::new();
    let mut sum = 0.0f64;
    let mut kept = 0usize;
    let mut previous: Option<usize> = None;
    if classes.is_empty() {
        return Decoded {
            text,
            confidence: 0.0,
        };
    }
    for step in probabilities.chunks_exact(classes.len()) {
        let (best, probability) = step.iter().copied().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |(best, highest), (class, value)| {
                if value > highest {
                    (class, value)
                } else {
                    (best, highest)
                }
            },
        );
        if best != 0 && previous != Some(best) {
            text.push_str(classes[best].as_ref());
            sum += f64::from(probability);
            kept += 1;
        }
        previous = Some(best);
    }
    let confidence = if kept == 0 {
        0.0
    } else {
        (sum / kept as f64) as f32
    };
    Decoded { text, confidence }
}
