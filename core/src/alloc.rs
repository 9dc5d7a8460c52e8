//! Proportional allocation by largest remainder.
//!
//! **The allocation rule** (used for order discounts, per-order tax and refunds to tenders):
//! an amount `T` (integer minor units, `T >= 0`) is split over lines with weights `w_i >= 0`
//! (their net amounts in minor units). Each line first gets `floor(T * w_i / W)` where
//! `W = Σ w_i`. The minor units still missing, `T - Σ floor(...)`, are handed out one each to the
//! lines with the largest remainders `T * w_i mod W`; equal remainders go to the earlier line.
//! The shares therefore always sum to exactly `T`, no share exceeds `ceil(T * w_i / W)`, and a
//! share is never larger than its weight when `T <= W`.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AllocError {
    #[error("cannot allocate {0} over weights that sum to zero")]
    NothingToAllocateOver(i64),
    #[error("allocation amounts and weights must not be negative")]
    Negative,
}

/// Split `total` over `weights` by the largest-remainder rule (see module docs).
pub fn allocate(total: i64, weights: &[i64]) -> Result<Vec<i64>, AllocError> {
    if total < 0 || weights.iter().any(|w| *w < 0) {
        return Err(AllocError::Negative);
    }
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if sum == 0 {
        return if total == 0 {
            Ok(vec![0; weights.len()])
        } else {
            Err(AllocError::NothingToAllocateOver(total))
        };
    }
    let t = total as i128;
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let product = t * (*w as i128);
        let base = product / sum;
        given += base;
        shares.push(base as i64);
        remainders.push((product % sum, i));
    }
    let mut left = t - given;
    // Largest remainder first; ties to the earlier line (smaller index).
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    Ok(shares)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_exactly_with_ties_to_the_earlier_line() {
        assert_eq!(allocate(100, &[1, 1, 1]).unwrap(), vec![34, 33, 33]);
        assert_eq!(allocate(2, &[1, 1, 1]).unwrap(), vec![1, 1, 0]);
        assert_eq!(allocate(1000, &[3000, 1000]).unwrap(), vec![750, 250]);
        assert_eq!(allocate(10, &[0, 5, 0]).unwrap(), vec![0, 10, 0]);
    }

    #[test]
    fn largest_remainder_wins_over_position() {
        // 7 over 1:2 -> 2.333 / 4.666: the second line has the larger remainder.
        assert_eq!(allocate(7, &[1, 2]).unwrap(), vec![2, 5]);
    }

    #[test]
    fn zero_weights() {
        assert_eq!(allocate(0, &[0, 0]).unwrap(), vec![0, 0]);
        assert_eq!(
            allocate(5, &[0, 0]),
            Err(AllocError::NothingToAllocateOver(5))
        );
        assert_eq!(allocate(-1, &[1]), Err(AllocError::Negative));
    }

    proptest! {
        #[test]
        fn shares_sum_to_total_and_stay_within_bounds(
            weights in prop::collection::vec(0i64..1_000_000, 1..40),
            frac in 0.0f64..=1.0,
        ) {
            let w: i64 = weights.iter().sum();
            prop_assume!(w > 0);
            let total = ((w as f64) * frac) as i64;
            let shares = allocate(total, &weights).unwrap();
            prop_assert_eq!(shares.iter().sum::<i64>(), total);
            for (s, wi) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0);
                prop_assert!(*s <= *wi, "share {} above weight {}", s, wi);
                let exact = (total as i128 * *wi as i128) as f64 / w as f64;
                prop_assert!((*s as f64 - exact).abs() < 1.0 + 1e-9);
            }
        }
    }
}
