//! A plain three-dimensional tensor in CHW order, the one shape every activation has.

/// Dense `[c, h, w]` tensor, row-major with `w` fastest (numpy C order of a CHW array).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor3<T> {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub data: Vec<T>,
}

impl<T: Copy + Default> Tensor3<T> {
    /// A tensor of the given shape filled with `T::default()`.
    pub fn zeros(c: usize, h: usize, w: usize) -> Self {
        Tensor3 { c, h, w, data: vec![T::default(); c * h * w] }
    }
}

impl<T: Copy> Tensor3<T> {
    /// Wraps `data` (CHW order); panics if the length does not match the shape (a programming error).
    pub fn from_vec(c: usize, h: usize, w: usize, data: Vec<T>) -> Self {
        assert_eq!(data.len(), c * h * w, "tensor data length does not match shape");
        Tensor3 { c, h, w, data }
    }

    pub fn shape(&self) -> [usize; 3] {
        [self.c, self.h, self.w]
    }

    #[inline]
    pub fn index(&self, c: usize, y: usize, x: usize) -> usize {
        (c * self.h + y) * self.w + x
    }

    #[inline]
    pub fn get(&self, c: usize, y: usize, x: usize) -> T {
        self.data[self.index(c, y, x)]
    }

    #[inline]
    pub fn set(&mut self, c: usize, y: usize, x: usize, v: T) {
        let i = self.index(c, y, x);
        self.data[i] = v;
    }

    /// Value at a possibly out-of-range position (signed coordinates, as produced by padding);
    /// `None` when the tap falls into the padding.
    #[inline]
    pub fn get_padded(&self, c: usize, y: isize, x: isize) -> Option<T> {
        if y < 0 || x < 0 || y as usize >= self.h || x as usize >= self.w {
            None
        } else {
            Some(self.get(c, y as usize, x as usize))
        }
    }

    pub fn map<U: Copy>(&self, f: impl Fn(T) -> U) -> Tensor3<U> {
        Tensor3 { c: self.c, h: self.h, w: self.w, data: self.data.iter().map(|&v| f(v)).collect() }
    }
}
