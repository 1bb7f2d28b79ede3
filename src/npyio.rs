//! .npy reading and writing (through the npyz crate) with the checks and messages users need:
//! the dtype and shape that were expected, and the file they were not found in.

use anyhow::{anyhow, bail, Context, Result};
use npyz::{DType, TypeChar, WriterBuilder};
use std::path::Path;

use crate::tensor::Tensor3;

/// Element types the formats use; `describe` is how an error names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    I8,
    U8,
    I32,
    /// Any integer dtype (index tensors).
    AnyInt,
}

impl Elem {
    /// The .npy dtype an activation tensor of `bits`-bit values is written with: int8 for
    /// binary (±1), int32 for accumulators, uint8 otherwise.
    pub fn for_bits(bits: u32) -> Elem {
        match bits {
            1 => Elem::I8,
            crate::network::ACC_BITS => Elem::I32,
            _ => Elem::U8,
        }
    }
}

impl Elem {
    fn describe(self) -> &'static str {
        match self {
            Elem::F32 => "float32",
            Elem::I8 => "int8",
            Elem::U8 => "uint8",
            Elem::I32 => "int32",
            Elem::AnyInt => "integer",
        }
    }
}

/// A loaded array: its shape and its values widened to a common type.
#[derive(Debug)]
pub struct Array<T> {
    pub shape: Vec<usize>,
    pub data: Vec<T>,
}

fn dtype_name(d: &DType) -> String {
    match d {
        DType::Plain(ts) => {
            let kind = match ts.type_char() {
                TypeChar::Float => "float",
                TypeChar::Int => "int",
                TypeChar::Uint => "uint",
                TypeChar::Bool => "bool",
                _ => return ts.to_string(),
            };
            format!("{kind}{}", ts.size_field() * 8)
        }
        other => format!("{other:?}"),
    }
}

/// The shape a .npy header's dict declares, read from its text (`None` if it cannot be found:
/// the .npy parser then names the problem). npyz multiplies the dimensions unchecked, so a
/// shape whose element count overflows must be caught before npyz sees it.
fn declared_shape(bytes: &[u8]) -> Option<Vec<u64>> {
    let text = String::from_utf8_lossy(bytes.get(10..bytes.len().min(10 + (1 << 20)))?);
    let after = &text[text.find("shape")?..];
    let open = after.find('(')?;
    let close = after[open..].find(')')? + open;
    after[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<u64>().ok())
        .collect()
}

/// The length of a .npy file's header (magic, version, length field and dict), from its
/// length field; `None` for an unknown version or a file shorter than its length field.
fn header_len(bytes: &[u8]) -> Option<usize> {
    match bytes.get(6)? {
        1 if bytes.len() >= 10 => Some(10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => {
            Some(12 + u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize)
        }
        _ => None,
    }
}

/// The bytes after a .npy file's header.
fn data_bytes(bytes: &[u8]) -> u64 {
    header_len(bytes).map_or(0, |h| bytes.len().saturating_sub(h) as u64)
}

/// A .npy file's header (what follows it is not read).
fn header(bytes: &[u8]) -> Result<npyz::NpyFile<&[u8]>> {
    // npyz allocates what the length field declares before reading it: check it first.
    if header_len(bytes).is_some_and(|h| h > bytes.len()) {
        bail!("not a valid .npy file (its header length field exceeds the file)");
    }
    if let Some(shape) = declared_shape(bytes) {
        if shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d)).is_none() {
            bail!("shape {shape:?} declares more data than the file holds (its element count overflows)");
        }
    }
    let f = npyz::NpyFile::new(bytes).map_err(|e| anyhow!("not a valid .npy file ({e})"))?;
    if f.order() != npyz::Order::C {
        bail!("Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
    }
    Ok(f)
}

/// A whole .npy file in memory, its header checked against its length.
fn open(bytes: &[u8]) -> Result<npyz::NpyFile<&[u8]>> {
    let f = header(bytes)?;
    // The shape's element count must be representable, and its data no larger than the bytes
    // given: nothing downstream then sizes a buffer from an impossible shape.
    match declared_bytes(&f) {
        Some(n) if n <= data_bytes(bytes) && usize::try_from(n).is_ok() => Ok(f),
        _ => bail!("shape {:?} declares more data than the file holds", f.shape()),
    }
}

/// The data bytes a header declares: its shape's element count times its element size, `None`
/// if that overflows. A dtype that is not plain counts a byte per element here; the dtype
/// checks refuse it.
fn declared_bytes(f: &npyz::NpyFile<&[u8]>) -> Option<u64> {
    let size = match f.dtype() {
        DType::Plain(ts) => ts.size_field().max(1),
        _ => 1,
    };
    f.shape().iter().try_fold(size, |acc, &d| acc.checked_mul(d))
}

fn plain(f: &npyz::NpyFile<&[u8]>) -> Option<(TypeChar, u64)> {
    match f.dtype() {
        DType::Plain(ts) => Some((ts.type_char(), ts.size_field())),
        _ => None,
    }
}

/// Parses .npy bytes holding float32 values.
pub fn parse_f32(bytes: &[u8]) -> Result<Array<f32>> {
    let f = open(bytes)?;
    if plain(&f) != Some((TypeChar::Float, 4)) {
        bail!("expected float32 values, found {} (convert with arr.astype(np.float32))", dtype_name(&f.dtype()));
    }
    let shape = f.shape().iter().map(|&s| s as usize).collect();
    let data = f.into_vec::<f32>().map_err(|e| anyhow!("truncated or unreadable data ({e})"))?;
    Ok(Array { shape, data })
}

/// Parses .npy bytes holding float32 or float64 values, widened to float64 (real scales and
/// biases, which float32 cannot always carry exactly).
pub fn parse_float(bytes: &[u8]) -> Result<Array<f64>> {
    let f = open(bytes)?;
    let shape = f.shape().iter().map(|&s| s as usize).collect();
    let err = |e: std::io::Error| anyhow!("truncated or unreadable data ({e})");
    let data = match plain(&f) {
        Some((TypeChar::Float, 4)) => f.into_vec::<f32>().map_err(err)?.into_iter().map(f64::from).collect(),
        Some((TypeChar::Float, 8)) => f.into_vec::<f64>().map_err(err)?,
        _ => bail!("expected float32 or float64 values, found {}", dtype_name(&f.dtype())),
    };
    Ok(Array { shape, data })
}

/// Parses .npy bytes holding integers of the expected kind, widened to i64.
pub fn parse_int(bytes: &[u8], expected: Elem) -> Result<Array<i64>> {
    let f = open(bytes)?;
    let found = plain(&f);
    let ok = match expected {
        Elem::I8 => found == Some((TypeChar::Int, 1)),
        Elem::U8 => found == Some((TypeChar::Uint, 1)),
        Elem::I32 => found == Some((TypeChar::Int, 4)),
        Elem::AnyInt => matches!(found, Some((TypeChar::Int | TypeChar::Uint, 1 | 2 | 4 | 8))),
        Elem::F32 => unreachable!("parse_int is for integer dtypes"),
    };
    if !ok {
        bail!("expected {} values, found {}", expected.describe(), dtype_name(&f.dtype()));
    }
    let shape = f.shape().iter().map(|&s| s as usize).collect();
    let (tc, size) = found.unwrap();
    let err = |e: std::io::Error| anyhow!("truncated or unreadable data ({e})");
    let data: Vec<i64> = match (tc, size) {
        (TypeChar::Int, 1) => f.into_vec::<i8>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 2) => f.into_vec::<i16>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 4) => f.into_vec::<i32>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 8) => f.into_vec::<i64>().map_err(err)?,
        (TypeChar::Uint, 1) => f.into_vec::<u8>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 2) => f.into_vec::<u16>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 4) => f.into_vec::<u32>().map_err(err)?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 8) => {
            let v = f.into_vec::<u64>().map_err(err)?;
            v.into_iter()
                .map(|x| i64::try_from(x).map_err(|_| anyhow!("value {x} is too large; expected at most {}", i64::MAX)))
                .collect::<Result<_>>()?
        }
        _ => unreachable!(),
    };
    Ok(Array { shape, data })
}

/// Checks a shape; `expected` uses `None` for a dimension that may be anything.
pub fn check_shape(shape: &[usize], expected: &[Option<usize>]) -> Result<()> {
    let fits = shape.len() == expected.len() && shape.iter().zip(expected).all(|(s, e)| e.is_none_or(|e| e == *s));
    if !fits {
        let want: Vec<String> = expected.iter().map(|e| e.map_or("_".to_string(), |v| v.to_string())).collect();
        bail!("expected shape [{}], found {:?}", want.join(", "), shape);
    }
    Ok(())
}

/// The largest .npy file the programs read (16 GiB): a declared size above it is refused before
/// anything is allocated.
pub const MAX_NPY_BYTES: u64 = 16 << 30;

/// Reads a .npy file: the header first, then exactly the bytes its shape and dtype declare. A
/// declared size that overflows, exceeds `MAX_NPY_BYTES` or the file's length is an error before
/// any allocation for the data, and a file that never ends (`/dev/zero`) is read no further than
/// its header declares.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let at = || format!("{}", path.display());
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let on_disk = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    read_npy(file, on_disk).with_context(at)
}

/// `read_file` on any reader; `on_disk` is the file's length when it is known.
pub fn read_npy(mut r: impl std::io::Read, on_disk: Option<u64>) -> Result<Vec<u8>> {
    use std::io::Read;
    let short = |e: std::io::Error| anyhow!("not a valid .npy file (its header is cut short: {e})");
    let mut bytes = vec![0u8; 10];
    r.read_exact(&mut bytes).map_err(short)?;
    if &bytes[..6] != b"\x93NUMPY" {
        bail!("not a valid .npy file (no .npy magic string at its start)");
    }
    if matches!(bytes[6], 2 | 3) {
        // Versions 2 and 3 have a 4-byte length field.
        let mut more = [0u8; 2];
        r.read_exact(&mut more).map_err(short)?;
        bytes.extend_from_slice(&more);
    }
    let Some(len) = header_len(&bytes) else {
        bail!("not a valid .npy file (format version {}; expected 1, 2 or 3)", bytes[6]);
    };
    // Headers are a short Python dict literal; a long one is no .npy file.
    if len > 1 << 20 {
        bail!("not a valid .npy file (a header of {len} bytes)");
    }
    let start = bytes.len();
    bytes.resize(len, 0);
    r.read_exact(&mut bytes[start..]).map_err(short)?;
    let data_len = declared_data_len(&bytes)?;
    let total = bytes.len() as u64 + data_len;
    if let Some(len) = on_disk {
        if len < total {
            bail!(
                "truncated: its header declares {data_len} bytes of data, the file holds {}",
                len.saturating_sub(bytes.len() as u64)
            );
        }
    }
    // Read no more than declared, growing the buffer as bytes arrive, not as declared.
    r.take(data_len).read_to_end(&mut bytes).context("cannot read")?;
    if (bytes.len() as u64) < total {
        bail!(
            "truncated: its header declares {data_len} bytes of data, the file holds {}",
            bytes.len() as u64 - (total - data_len)
        );
    }
    Ok(bytes)
}

/// The data bytes a .npy header (`bytes`, the whole header and nothing after it) declares:
/// the product of its shape times the element size, checked for overflow and `MAX_NPY_BYTES`.
fn declared_data_len(bytes: &[u8]) -> Result<u64> {
    let f = header(bytes)?;
    if !matches!(f.dtype(), DType::Plain(_)) {
        bail!("unsupported dtype {}", dtype_name(&f.dtype()));
    }
    let too_big = || anyhow!("shape {:?} declares more than {} GiB of data", f.shape(), MAX_NPY_BYTES >> 30);
    declared_bytes(&f).filter(|&n| n <= MAX_NPY_BYTES).ok_or_else(too_big)
}

/// Loads an activation tensor `[C, H, W]` of `bits`-bit values: int8 ±1 for `bits = 1`,
/// uint8 in `0..2^bits` otherwise (SPEC 1, 7).
pub fn parse_activations(bytes: &[u8], bits: u32, shape: [usize; 3]) -> Result<Tensor3<i32>> {
    let a = parse_int(bytes, activation_elem(bits))?;
    check_shape(&a.shape, &shape.map(Some))?;
    check_activations(&a.data, bits)?;
    Ok(tensor(shape, &a.data))
}

/// Loads one image `[C, H, W]` or a batch of images `[N, C, H, W]` (N >= 1) of `bits`-bit
/// activations, checked like `parse_activations`; a bad value names its image. Returns the
/// images and whether the file held a batch.
pub fn parse_activation_batch(bytes: &[u8], bits: u32, shape: [usize; 3]) -> Result<(Vec<Tensor3<i32>>, bool)> {
    let a = parse_int(bytes, activation_elem(bits))?;
    let [c, h, w] = shape;
    if a.shape[a.shape.len().saturating_sub(3)..] != shape || !(3..=4).contains(&a.shape.len()) {
        bail!("expected shape [{c}, {h}, {w}] (one image) or [N, {c}, {h}, {w}] (a batch of N), found {:?}", a.shape);
    }
    if a.shape.len() == 3 {
        check_activations(&a.data, bits)?;
        return Ok((vec![tensor(shape, &a.data)], false));
    }
    if a.shape[0] == 0 {
        bail!("expected at least one image, found shape {:?}", a.shape);
    }
    let per = shape.iter().product::<usize>().max(1);
    let images = a
        .data
        .chunks(per)
        .enumerate()
        .map(|(i, d)| {
            check_activations(d, bits).with_context(|| format!("image {i}"))?;
            Ok(tensor(shape, d))
        })
        .collect::<Result<_>>()?;
    Ok((images, true))
}

/// The file dtype of `bits`-bit activations (SPEC 1).
fn activation_elem(bits: u32) -> Elem {
    if bits == 1 {
        Elem::I8
    } else {
        Elem::U8
    }
}

/// Every value within the range of `bits`-bit activations (±1 for `bits = 1`, SPEC 7).
fn check_activations(values: &[i64], bits: u32) -> Result<()> {
    for &v in values {
        let ok = if bits == 1 { v == 1 || v == -1 } else { v < (1i64 << bits) };
        if !ok {
            let want = if bits == 1 { "-1 or +1".to_string() } else { format!("0..={}", (1i64 << bits) - 1) };
            bail!("value {v} outside the range of {bits}-bit activations (expected {want})");
        }
    }
    Ok(())
}

fn tensor(shape: [usize; 3], values: &[i64]) -> Tensor3<i32> {
    Tensor3::from_vec(shape[0], shape[1], shape[2], values.iter().map(|&v| v as i32).collect())
}

/// Serialises values of any shape to .npy bytes with the dtype of `T`.
pub fn to_npy<T: npyz::AutoSerialize>(shape: &[usize], values: impl Iterator<Item = T>) -> Vec<u8> {
    let shape: Vec<u64> = shape.iter().map(|&s| s as u64).collect();
    let mut out = Vec::new();
    let mut w =
        npyz::WriteOptions::new().default_dtype().shape(&shape).writer(&mut out).begin_nd().expect("in-memory write");
    w.extend(values).expect("in-memory write");
    w.finish().expect("in-memory write");
    out
}

/// Serialises a CHW tensor to .npy bytes; the dtype follows the tensor's kind: int8 (binary),
/// uint8 (k-bit activations) or int32 (raw accumulators).
pub fn activations_to_npy(t: &Tensor3<i32>, dtype: Elem) -> Vec<u8> {
    images_to_npy(&[t], false, dtype)
}

/// Serialises tensors of one shape `[C, H, W]` as one array: `[N, C, H, W]` when `stacked`
/// (a batch), else the single tensor as `[C, H, W]`.
pub fn images_to_npy(ts: &[&Tensor3<i32>], stacked: bool, dtype: Elem) -> Vec<u8> {
    let first = ts.first().expect("at least one tensor").shape();
    assert!(stacked || ts.len() == 1, "several tensors are written stacked");
    let shape: Vec<usize> = if stacked { [ts.len()].into_iter().chain(first).collect() } else { first.to_vec() };
    let values = ts.iter().flat_map(|t| {
        assert_eq!(t.shape(), first, "stacked tensors have one shape");
        t.data.iter().copied()
    });
    match dtype {
        Elem::I8 => to_npy(&shape, values.map(|v| v as i8)),
        Elem::U8 => to_npy(&shape, values.map(|v| v as u8)),
        Elem::I32 => to_npy(&shape, values),
        Elem::F32 | Elem::AnyInt => unreachable!("activations are int8, uint8 or int32"),
    }
}

/// Serialises float32 values of any shape (used by tests and the example generator).
pub fn f32_to_npy(shape: &[usize], data: &[f32]) -> Vec<u8> {
    to_npy(shape, data.iter().copied())
}

/// Serialises float64 values of any shape.
pub fn f64_to_npy(shape: &[usize], data: &[f64]) -> Vec<u8> {
    to_npy(shape, data.iter().copied())
}

/// Serialises int64 values of any shape (index tensors in tests and examples).
pub fn i64_to_npy(shape: &[usize], data: &[i64]) -> Vec<u8> {
    to_npy(shape, data.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 .npy header declaring `dtype` and `shape`, followed by `data`.
    fn crafted(dtype: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut dict = format!("{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        b.extend_from_slice(dict.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn shapes_that_overflow_or_exceed_the_data_are_errors_not_panics() {
        for shape in
            ["(4294967296, 4294967296, 1)", "(4611686018427387904, 4, 1)", "(4611686018427387904, 4, 3, 3)", "(3, 3)"]
        {
            let b = crafted("<f4", shape, &[0; 8]);
            let e = format!("{:#}", parse_f32(&b).unwrap_err());
            assert!(e.contains("declares more"), "{shape}: {e}");
            let e = format!("{:#}", parse_int(&crafted("|u1", shape, &[0; 8]), Elem::U8).unwrap_err());
            assert!(e.contains("declares more"), "{shape}: {e}");
            // Read from a file: refused on the header alone.
            let e = format!("{:#}", read_npy(&b[..], Some(b.len() as u64)).unwrap_err());
            assert!(e.contains("declares") || e.contains("truncated"), "{shape}: {e}");
        }
        // What the shape declares, exactly: parsed.
        assert_eq!(parse_f32(&crafted("<f4", "(2,)", &[0; 8])).unwrap().data, [0.0, 0.0]);
    }

    #[test]
    fn an_endless_file_is_read_no_further_than_its_header_declares() {
        // /dev/zero: no magic string, refused after 10 bytes.
        let e = format!("{:#}", read_npy(std::io::repeat(0), None).unwrap_err());
        assert!(e.contains("magic"), "{e}");
        // A valid header on an endless stream: exactly the declared bytes.
        let head = crafted("|u1", "(5,)", &[]);
        let endless = std::io::Read::chain(&head[..], std::io::repeat(7));
        let b = read_npy(endless, None).unwrap();
        assert_eq!(parse_int(&b, Elem::U8).unwrap().data, [7; 5]);
        // A huge declared size on an endless stream: refused before reading it.
        let head = crafted("|u1", "(1099511627776, 1024)", &[]);
        let e = format!("{:#}", read_npy(std::io::Read::chain(&head[..], std::io::repeat(7)), None).unwrap_err());
        assert!(e.contains("more than"), "{e}");
        // A truncated file: names what was declared and what is there.
        let b = crafted("<f4", "(4,)", &[0; 8]);
        let e = format!("{:#}", read_npy(&b[..], None).unwrap_err());
        assert!(e.contains("truncated") && e.contains("16"), "{e}");
    }

    #[test]
    fn f32_round_trip_and_dtype_errors() {
        let bytes = f32_to_npy(&[2, 3], &[1.0, -2.0, 0.5, 0.0, 3.0, -0.0]);
        let a = parse_f32(&bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data[1], -2.0);
        let e = parse_int(&bytes, Elem::U8).unwrap_err().to_string();
        assert!(e.contains("expected uint8") && e.contains("float32"), "{e}");
        let ib = i64_to_npy(&[3], &[1, 2, 3]);
        let e = parse_f32(&ib).unwrap_err().to_string();
        assert!(e.contains("expected float32") && e.contains("int64"), "{e}");
    }

    #[test]
    fn activations_range_and_shape_are_checked() {
        let t = Tensor3::from_vec(1, 2, 2, vec![0, 3, 7, 1]);
        let bytes = activations_to_npy(&t, Elem::U8);
        assert_eq!(parse_activations(&bytes, 3, [1, 2, 2]).unwrap(), t);
        let e = parse_activations(&bytes, 2, [1, 2, 2]).unwrap_err().to_string();
        assert!(e.contains("value 7") && e.contains("0..=3"), "{e}");
        let e = parse_activations(&bytes, 3, [2, 2, 2]).unwrap_err().to_string();
        assert!(e.contains("expected shape [2, 2, 2]"), "{e}");
        let b = Tensor3::from_vec(1, 1, 2, vec![-1, 1]);
        assert_eq!(parse_activations(&activations_to_npy(&b, Elem::I8), 1, [1, 1, 2]).unwrap(), b);
    }

    #[test]
    fn batches_round_trip_and_name_the_bad_image() {
        let a = Tensor3::from_vec(1, 2, 2, vec![0, 3, 7, 1]);
        let mut b = a.clone();
        b.data[2] = 5;
        let bytes = images_to_npy(&[&a, &b], true, Elem::U8);
        assert_eq!(parse_activation_batch(&bytes, 3, [1, 2, 2]).unwrap(), (vec![a.clone(), b], true));
        let mut c = a.clone();
        c.data[3] = 9;
        let bad = images_to_npy(&[&a, &a, &c], true, Elem::U8);
        let e = parse_activation_batch(&bad, 3, [1, 2, 2]).unwrap_err();
        assert_eq!(format!("{e:#}"), "image 2: value 9 outside the range of 3-bit activations (expected 0..=7)");
        let one = activations_to_npy(&a, Elem::U8);
        assert_eq!(parse_activation_batch(&one, 3, [1, 2, 2]).unwrap(), (vec![a], false));
        let e = parse_activation_batch(&one, 3, [2, 2, 2]).unwrap_err().to_string();
        assert!(
            e.contains("expected shape [2, 2, 2] (one image) or [N, 2, 2, 2] (a batch of N), found [1, 2, 2]"),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse_f32(b"not numpy").is_err());
        let mut bytes = f32_to_npy(&[4], &[1.0, 2.0, 3.0, 4.0]);
        bytes.truncate(bytes.len() - 3);
        assert!(parse_f32(&bytes).is_err());
    }
}
