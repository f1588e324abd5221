//! What the API shows: the JSON shapes of jobs and renders (camelCase,
//! absolute image URLs), built from repository rows. Every route that
//! answers one of these shapes uses the type here.

pub mod inputs;
pub mod jobs;
pub mod renders;
pub mod timestamp;

pub use inputs::{input_images, InputImageView};
pub use jobs::{JobView, VariantView};
pub use renders::{RenderDetailView, RenderItemView, RenderPageView};
