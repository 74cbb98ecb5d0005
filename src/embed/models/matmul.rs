//! A safe, bounds-checked call of the gemm crate (candle's CPU matmul) on strided f32 views,
//! for the kernels that multiply without building tensors ([`super::panels`],
//! [`super::attention`]).
//!
//! This and `vecmath` are the crate's modules allowed to use `unsafe`, here only to pass
//! slices to `gemm::gemm`, which takes raw pointers and strides.

#![allow(unsafe_code)]

/// A matrix inside a slice: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix whose rows are `row_stride` apart (`row_stride ≥ cols`).
    pub fn rows(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        View {
            data,
            rows,
            cols,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose, without moving data.
    pub fn t(self) -> Self {
        View {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// One past the largest index read (0 for an empty matrix).
    fn extent(&self) -> usize {
        match self.rows * self.cols {
            0 => 0,
            _ => (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride + 1,
        }
    }
}

/// `dst = scale · a·b`, or `dst += scale · a·b` when `accumulate`; `dst` is row-major with
/// rows `dst_stride` apart, `a.rows × b.cols`. One thread: callers split the work themselves.
///
/// # Panics
/// If the shapes disagree or a view or `dst` is too short for its shape and strides.
pub(crate) fn matmul_into(
    dst: &mut [f32],
    dst_stride: usize,
    a: View,
    b: View,
    scale: f32,
    accumulate: bool,
) {
    matmul_into_threads(dst, dst_stride, a, b, scale, accumulate, 1);
}

/// [`matmul_into`] on up to `threads` of rayon's threads (gemm splits the work).
pub(crate) fn matmul_into_threads(
    dst: &mut [f32],
    dst_stride: usize,
    a: View,
    b: View,
    scale: f32,
    accumulate: bool,
    threads: usize,
) {
    assert_eq!(a.cols, b.rows, "matmul_into: inner dimensions differ");
    assert!(a.extent() <= a.data.len() && b.extent() <= b.data.len());
    let out = View::rows(dst, a.rows, b.cols, dst_stride);
    assert!(b.cols <= dst_stride || a.rows <= 1);
    assert!(out.extent() <= dst.len());
    if a.rows == 0 || b.cols == 0 {
        return;
    }
    // SAFETY: every index gemm reads of `a` and `b` and writes of `dst` is below the extents
    // asserted above; `dst` is borrowed mutably, so it aliases neither input; rows of `dst`
    // do not overlap (`dst_stride ≥ b.cols`).
    unsafe {
        gemm::gemm(
            a.rows,
            b.cols,
            a.cols,
            dst.as_mut_ptr(),
            1,
            dst_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            scale,
            false,
            false,
            false,
            match threads {
                0 | 1 => gemm::Parallelism::None,
                n => gemm::Parallelism::Rayon(n),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain triple loop.
    fn naive(a: View, b: View) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                out[i * b.cols + j] = (0..a.cols)
                    .map(|k| {
                        a.data[i * a.row_stride + k * a.col_stride]
                            * b.data[k * b.row_stride + j * b.col_stride]
                    })
                    .sum();
            }
        }
        out
    }

    fn values(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 37) % 23) as f32 / 7.0 - 1.5).collect()
    }

    #[test]
    fn strided_and_transposed_views_multiply_like_the_naive_loop() {
        let data = values(400);
        // a: 5×6 inside rows of 9; b: the transpose of a 7×6 block inside rows of 8.
        let a = View::rows(&data, 5, 6, 9);
        let b = View::rows(&data[50..], 7, 6, 8).t();
        let want = naive(a, b);
        let mut dst = vec![0f32; 5 * 10];
        matmul_into(&mut dst, 10, a, b, 1.0, false);
        for i in 0..5 {
            for j in 0..7 {
                assert!((dst[i * 10 + j] - want[i * 7 + j]).abs() < 1e-4);
            }
            assert_eq!(
                &dst[i * 10 + 7..i * 10 + 10],
                &[0.0; 3],
                "padding untouched"
            );
        }
        // Accumulating a scaled product onto what is there.
        matmul_into(&mut dst, 10, a, b, 0.5, true);
        assert!((dst[12] - 1.5 * want[7 + 2]).abs() < 1e-4);
    }

    #[test]
    #[should_panic]
    fn a_view_past_its_slice_panics() {
        let data = values(20);
        let mut dst = vec![0f32; 16];
        matmul_into(
            &mut dst,
            4,
            View::rows(&data, 4, 6, 6),
            View::rows(&data, 6, 4, 4),
            1.0,
            false,
        );
    }
}
