//! Where the models run: CPU by default, the first CUDA device with the `cuda` feature.

use candle_core::Device;

use crate::{Error, Result};

/// CPU, or CUDA device 0 when built with the `cuda` feature (falling back to CPU when no
/// GPU is present).
pub fn default_device() -> Result<Device> {
    #[cfg(feature = "cuda")]
    {
        Device::cuda_if_available(0).map_err(Error::model)
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok::<Device, Error>(Device::Cpu)
    }
}
