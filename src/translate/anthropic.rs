//! Placeholder: the anthropic codec is being written.

use super::ir::{ErrorInfo, Event, Request, Response};
use super::{EncodeOptions, StreamDecoder as Dec, StreamEncoder as Enc};
use crate::errors::{ErrorKind, GatewayError};

fn unsupported() -> GatewayError {
    GatewayError::new(ErrorKind::BadRequest, "this wire format is not supported yet")
}
pub fn decode_request(_body: &[u8]) -> Result<Request, GatewayError> { Err(unsupported()) }
pub fn encode_request(_req: &Request, _opts: &EncodeOptions) -> Vec<u8> { Vec::new() }
pub fn decode_response(_body: &[u8]) -> Result<Response, GatewayError> { Err(unsupported()) }
pub fn encode_response(_resp: &Response) -> Vec<u8> { Vec::new() }
pub fn decode_error(status: u16, body: &[u8]) -> ErrorInfo { ErrorInfo { status, message: String::from_utf8_lossy(body).into_owned(), code: None } }
pub fn encode_error(err: &ErrorInfo) -> Vec<u8> { err.message.clone().into_bytes() }
pub struct StreamDecoder;
impl StreamDecoder { pub fn new() -> Self { Self } }
impl Dec for StreamDecoder {
    fn decode_event(&mut self, _event: &[u8], _out: &mut Vec<Event>) {}
    fn finish(&mut self, _out: &mut Vec<Event>) -> bool { false }
}
pub struct StreamEncoder;
impl StreamEncoder { pub fn new() -> Self { Self } }
impl Enc for StreamEncoder {
    fn encode_event(&mut self, _event: &Event, _out: &mut Vec<u8>) {}
    fn finish(&mut self, _out: &mut Vec<u8>) {}
    fn fail(&mut self, _error: &ErrorInfo, _out: &mut Vec<u8>) {}
}
