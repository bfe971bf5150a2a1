//! An ad's photo as the image model saw it: the pooled feature vector of
//! the model's `[output] embedding`, kept beside the ad so that training a
//! head on the team's decisions reads no image again.

/// One image's feature vector and the model that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// The model whose features these are (for a trained head, its
    /// backbone): vectors of different models do not mix, so training
    /// takes only those of the backbone it trains on.
    pub model: String,
    pub vector: Vec<f32>,
}

impl Embedding {
    pub fn new(model: impl Into<String>, vector: Vec<f32>) -> Self {
        Self {
            model: model.into(),
            vector,
        }
    }
}
