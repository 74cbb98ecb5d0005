//! The fine-tuned contrast: a DNA language model with a classification head, trained end to
//! end with candle autograd, to compare against frozen embeddings + retrieval.
//!
//! The model is loaded with every weight as a trainable variable
//! ([`crate::embed::models::load_model_with`]); its forward pass then takes the
//! differentiable forms of the ops that have no backward pass in candle (softmax, the fused
//! LayerNorm, rotary), and HyenaDNA's convolutions leave their host loops for candle ops and an
//! FFT convolution op with its own FFT backward. The head is a linear
//! layer over the masked mean of the last hidden states, as the embedders pool. Inputs longer
//! than the model's window are cut to their first window.

mod adamw;
mod classifier;
mod frozen;
mod params;
mod run;
mod saved;
mod shares;
mod train;

pub use adamw::AdamW;
pub use classifier::SequenceClassifier;
pub use frozen::CacheReport;
pub use params::{layer_index, trainable, Scope};
pub use run::{batch_loss, step_threads};
pub use saved::load;
pub use shares::{batch_gradients, BatchGradients};
pub use train::{default_lr, finetune, FinetuneOptions, FinetuneReport, Finetuned, Progress, Stop};
