//! Whole numbers written in decimal without `format!` (its machinery costs more than the
//! digits on paths run for every request or event: stream encoders, the `x-ratelimit-*`
//! headers, Redis commands).

/// The decimal digits of `n`, in a buffer and the index where they start.
fn digits(mut n: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (digits, start)
}

/// Appends `n` to `out`.
pub fn push(out: &mut Vec<u8>, n: u64) {
    let (d, start) = digits(n);
    out.extend_from_slice(&d[start..]);
}

/// Appends `n` to `out`.
pub fn push_str(out: &mut String, n: u64) {
    let (d, start) = digits(n);
    out.extend(d[start..].iter().map(|b| char::from(*b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_digit_is_written() {
        for n in [0, 7, 10, 1_234_567_890, u64::MAX] {
            let mut bytes = Vec::new();
            push(&mut bytes, n);
            assert_eq!(bytes, n.to_string().into_bytes());
            let mut text = String::from("x");
            push_str(&mut text, n);
            assert_eq!(text, format!("x{n}"));
        }
    }
}
