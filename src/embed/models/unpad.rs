//! A padded batch without its padding, as MosaicBERT (DNABERT-2's reference) runs it.
//!
//! The reference's `unpad_input` keeps only the real tokens of `[B, T]` as one `[N, d]`
//! matrix, runs every projection on those `N` rows and pads back with zeros at the end. Each
//! batch row's tokens stay together and in order: row `b` is the segment
//! `offset_b .. offset_b + len_b` of the unpadded matrix, so attention runs per segment and
//! needs no padding mask.

use candle_core::{DType, Tensor};

/// Where the real tokens of a `[B, T]` batch are.
pub(crate) struct Unpadded {
    /// Flat positions `b * T + t` of the real tokens, in row-major order: `[N]`, u32.
    /// `None` when every position is real (nothing to gather or scatter).
    index: Option<Tensor>,
    /// Real tokens per batch row.
    lens: Vec<usize>,
    width: usize,
}

impl Unpadded {
    /// From a `[B, T]` mask whose nonzero entries are the real tokens (any pattern).
    pub(crate) fn new(mask: &Tensor) -> candle_core::Result<Self> {
        let width = mask.dims2()?.1;
        let rows = mask.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut positions = Vec::new();
        let mut lens = Vec::with_capacity(rows.len());
        for (b, row) in rows.iter().enumerate() {
            let before = positions.len();
            positions.extend(
                (0..width)
                    .filter(|&t| row[t] != 0.0)
                    .map(|t| (b * width + t) as u32),
            );
            lens.push(positions.len() - before);
        }
        let index = if positions.len() == rows.len() * width {
            None
        } else {
            let n = positions.len();
            Some(Tensor::from_vec(positions, n, mask.device())?)
        };
        Ok(Unpadded { index, lens, width })
    }

    /// Rows of `x` (`[B * T, ...]`) at the real tokens: `[N, ...]`.
    pub(crate) fn gather(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match &self.index {
            Some(index) => x.index_select(index, 0),
            None => Ok(x.clone()),
        }
    }

    /// `x` (`[N, d]`) back to `[B, T, d]`, with zero rows at the padding.
    pub(crate) fn scatter(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (b, d) = (self.lens.len(), x.dim(1)?);
        let flat = match &self.index {
            Some(index) => {
                Tensor::zeros((b * self.width, d), x.dtype(), x.device())?.index_add(index, x, 0)?
            }
            None => x.clone(),
        };
        flat.reshape((b, self.width, d))
    }

    /// `(start, len)` of each batch row's segment in the unpadded matrix, in batch order.
    pub(crate) fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.lens.iter().scan(0, |start, &len| {
            let segment = (*start, len);
            *start += len;
            Some(segment)
        })
    }

    /// The distinct segment lengths.
    pub(crate) fn lengths(&self) -> std::collections::BTreeSet<usize> {
        self.lens.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::Unpadded;

    #[test]
    fn gathers_real_rows_in_order_and_scatters_zeros_to_pads() {
        let mask = Tensor::new(&[[1f32, 1.0, 0.0], [0.0, 1.0, 1.0]], &Device::Cpu).unwrap();
        let rows = Unpadded::new(&mask).unwrap();
        assert_eq!(rows.segments().collect::<Vec<_>>(), [(0, 2), (2, 2)]);
        let x = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((6, 1))
            .unwrap();
        let real = rows.gather(&x).unwrap();
        assert_eq!(real.to_vec2::<f32>().unwrap(), [[0.0], [1.0], [4.0], [5.0]]);
        let back = rows.scatter(&(real + 10.0).unwrap()).unwrap();
        assert_eq!(
            back.to_vec3::<f32>().unwrap(),
            [[[10.0], [11.0], [0.0]], [[0.0], [14.0], [15.0]]]
        );
    }

    #[test]
    fn a_batch_without_padding_passes_through() {
        let mask = Tensor::ones((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
        let rows = Unpadded::new(&mask).unwrap();
        assert!(rows.index.is_none());
        let x = Tensor::arange(0f32, 12.0, &Device::Cpu)
            .unwrap()
            .reshape((6, 2))
            .unwrap();
        assert_eq!(rows.gather(&x).unwrap().dims(), [6, 2]);
        assert_eq!(rows.scatter(&x).unwrap().dims(), [2, 3, 2]);
        assert_eq!(rows.lengths().into_iter().collect::<Vec<_>>(), [3]);
    }
}
