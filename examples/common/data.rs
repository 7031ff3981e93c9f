//! The data of a run: MNIST's training and test splits, prepared as the options say.

use super::cli::CommonArgs;
use super::mnist::{Binarization, DataError, Prepared, load};

/// The training and test splits of a run: training images binarized by `--binarization`
/// (default `mode`), the test set fixed-binarized once with seed 12345 (or left continuous
/// when the training data is), each cut to its `--*-limit`.
pub fn splits(
    args: &CommonArgs,
    example: &str,
    mode: Binarization,
) -> Result<(Prepared, Prepared), DataError> {
    let mode = args.binarization.unwrap_or(mode);
    let test_mode = if mode == Binarization::None {
        Binarization::None
    } else {
        Binarization::Fixed
    };
    let data = load(&args.data_dir)?;
    // seed + 1: a fixed binarization must not replay the stream that the examples' training
    // noise (seeded with `--seed`) draws from
    let train = Prepared::new(
        data.train.truncate(args.train_limit.unwrap_or(usize::MAX)),
        mode,
        args.seed.wrapping_add(1),
    );
    let test = Prepared::new(
        data.test.truncate(args.test_limit.unwrap_or(usize::MAX)),
        test_mode,
        12345,
    );
    println!(
        "{example}: MNIST, {} training and {} test images, {mode:?} binarization",
        train.len(),
        test.len()
    );
    Ok((train, test))
}
