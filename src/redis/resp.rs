//! RESP2, the Redis wire format: commands are written as arrays of bulk strings, replies are
//! read incrementally from a buffer that may hold part of one. Every length read off the wire
//! is bounded before anything is allocated for it, so a hostile or broken server costs at most
//! [`MAX_BULK`] bytes per reply and [`MAX_ITEMS`] items per array.
//!
//! Pure: no I/O.

/// The largest bulk string accepted (the gateway's scripts answer in a few numbers).
pub const MAX_BULK: usize = 1 << 20;
/// The most items in one array reply.
pub const MAX_ITEMS: usize = 4_096;
/// Arrays nested deeper than this are refused.
const MAX_DEPTH: usize = 4;

/// A reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK` and the like.
    Status(String),
    /// `-ERR ...`: the server refused the command.
    Error(String),
    Int(i64),
    /// `None` is the null bulk string.
    Bulk(Option<Vec<u8>>),
    /// `None` is the null array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// An integer reply, or a bulk string holding one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            Reply::Bulk(Some(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// The items of an array reply.
    pub fn items(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(Some(items)) => Some(items),
            _ => None,
        }
    }
}

/// The server broke the protocol (the connection is dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub &'static str);

/// Appends the command `args` to `out`.
pub fn encode<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.push(b'*');
    crate::decimal::push(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let arg = arg.as_ref();
        out.push(b'$');
        crate::decimal::push(out, arg.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Reads one reply from the start of `buf`: the reply and the bytes it took, or `None` when
/// `buf` holds only part of it.
pub fn decode(buf: &[u8]) -> Result<Option<(Reply, usize)>, ProtocolError> {
    decode_at(buf, 0)
}

fn decode_at(buf: &[u8], depth: usize) -> Result<Option<(Reply, usize)>, ProtocolError> {
    let Some((line, after)) = line(buf)? else {
        return Ok(None);
    };
    let (&tag, rest) = line.split_first().ok_or(ProtocolError("an empty line"))?;
    let text = || {
        std::str::from_utf8(rest)
            .map(str::to_owned)
            .map_err(|_| ProtocolError("a status line that is not UTF-8"))
    };
    match tag {
        b'+' => Ok(Some((Reply::Status(text()?), after))),
        b'-' => Ok(Some((Reply::Error(text()?), after))),
        b':' => Ok(Some((Reply::Int(number(rest)?), after))),
        b'$' => {
            let len = number(rest)?;
            if len < 0 {
                return Ok(Some((Reply::Bulk(None), after)));
            }
            let len = usize::try_from(len).map_err(|_| ProtocolError("a bulk length"))?;
            if len > MAX_BULK {
                return Err(ProtocolError("a bulk string over the size limit"));
            }
            let end = after + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ProtocolError("a bulk string without its line end"));
            }
            Ok(Some((Reply::Bulk(Some(buf[after..end].to_vec())), end + 2)))
        }
        b'*' => {
            let len = number(rest)?;
            if len < 0 {
                return Ok(Some((Reply::Array(None), after)));
            }
            let len = usize::try_from(len).map_err(|_| ProtocolError("an array length"))?;
            if len > MAX_ITEMS {
                return Err(ProtocolError("an array over the size limit"));
            }
            if depth >= MAX_DEPTH {
                return Err(ProtocolError("arrays nested too deep"));
            }
            let mut items = Vec::with_capacity(len);
            let mut at = after;
            for _ in 0..len {
                let Some((item, used)) = decode_at(&buf[at..], depth + 1)? else {
                    return Ok(None);
                };
                items.push(item);
                at += used;
            }
            Ok(Some((Reply::Array(Some(items)), at)))
        }
        _ => Err(ProtocolError("an unknown reply type")),
    }
}

/// The first line of `buf` (without its CRLF) and where the next starts; lines are short.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, ProtocolError> {
    match memchr::memchr(b'\n', buf) {
        Some(i) if i > 0 && buf[i - 1] == b'\r' => Ok(Some((&buf[..i - 1], i + 1))),
        Some(_) => Err(ProtocolError("a line that does not end in CRLF")),
        None if buf.len() > 64 * 1024 => Err(ProtocolError("a line over the size limit")),
        None => Ok(None),
    }
}

fn number(digits: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(ProtocolError("a number that does not parse"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode(&mut out, &["SET", "k", ""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }

    #[test]
    fn every_reply_type_decodes_and_says_what_it_took() {
        let wire = b"*5\r\n:1\r\n$2\r\nab\r\n$-1\r\n+OK\r\n*1\r\n-ERR no\r\n:7\r\n";
        let (reply, used) = decode(wire).unwrap().unwrap();
        assert_eq!(used, wire.len() - 4);
        assert_eq!(
            reply,
            Reply::Array(Some(vec![
                Reply::Int(1),
                Reply::Bulk(Some(b"ab".to_vec())),
                Reply::Bulk(None),
                Reply::Status("OK".into()),
                Reply::Array(Some(vec![Reply::Error("ERR no".into())])),
            ]))
        );
        assert_eq!(decode(&wire[used..]).unwrap(), Some((Reply::Int(7), 4)));
    }

    #[test]
    fn a_partial_reply_waits_for_more() {
        let wire = b"*2\r\n$5\r\nhello\r\n:12\r\n";
        for cut in 0..wire.len() {
            assert_eq!(decode(&wire[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(decode(wire).unwrap().is_some());
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocating() {
        assert!(decode(b"$99999999999\r\n").is_err());
        assert!(decode(b"*99999999\r\n").is_err());
        assert!(decode(b"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n").is_err());
        assert!(decode(b"?x\r\n").is_err());
        assert!(decode(b":x\r\n").is_err());
        assert!(decode(b"$1\r\nab\r\n").is_err());
        assert!(decode(b":1\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode(&bytes);
        }
    }
}
