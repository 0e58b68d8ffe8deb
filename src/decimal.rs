//! Whole numbers written in decimal without `format!` (its machinery costs more than the
//! digits on paths run for every request or event: stream encoders, the `x-ratelimit-*`
//! headers, Redis commands); `itoa` writes two digits at a time.

/// Appends `n` to `out`.
pub fn push(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `n` to `out`.
pub fn push_str(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
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
