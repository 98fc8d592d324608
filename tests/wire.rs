//! Hostile input over the wire, shared by the end-to-end suites: arbitrary
//! bytes, and valid requests with their encoding damaged, sent to every RPC
//! of a service by an authenticated caller. The service answers each with
//! one of the documented status codes, never `INTERNAL` or a dropped
//! connection.

use std::time::Duration;

use bytes::{Buf as _, BufMut as _};
use proptest::prelude::*;
use prost::Message as _;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::support::As;

/// Sends and receives raw message bytes.
#[derive(Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// Every method of `package`.`service` (and whether it streams), from the
/// descriptor the server is built from.
pub fn methods(package: &str, service: &str) -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(cpc_proto::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .iter()
        .filter(|f| f.package() == package)
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == service)
        .flat_map(|s| s.method.iter())
        .map(|m| (m.name().to_owned(), m.server_streaming()))
        .collect()
}

pub const DOCUMENTED: [Code; 8] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
];

/// Sends `body` to `/{service}/{method}` as `who`; the status code of the
/// answer (`Ok` for a stream that opens).
pub async fn send(
    channel: Channel,
    who: &As,
    service: &str,
    method: &str,
    streaming: bool,
    body: Vec<u8>,
) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::try_from(format!("/{service}/{method}")).unwrap();
    let request = who.req(body);
    let result = if streaming {
        // A stream that opens is an answer; it is not read further.
        grpc.server_streaming(request, path, RawCodec)
            .await
            .map(drop)
    } else {
        grpc.unary(request, path, RawCodec).await.map(drop)
    };
    result.map_or_else(|status| status.code(), |()| Code::Ok)
}

/// A valid request's encoding with damage applied: truncated, a byte
/// changed, bytes appended.
pub fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    (
        0..len,
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..8),
        0..3_u8,
    )
        .prop_map(move |(at, byte, tail, how)| {
            let mut bytes = valid.clone();
            match how {
                0 => bytes.truncate(at),
                1 if !bytes.is_empty() => {
                    let i = at % bytes.len();
                    bytes[i] ^= byte | 1;
                }
                _ => bytes.extend(tail),
            }
            bytes
        })
}

/// Sends arbitrary bytes and damaged copies of `valid` (24 cases each) to
/// every method of `package`.`service`; each answer must be a documented
/// code within 10 s. Returns how many methods were tried.
pub fn assault(
    runtime: &tokio::runtime::Runtime,
    channel: &Channel,
    who: &As,
    package: &str,
    service: &str,
    valid: &[u8],
) -> usize {
    let methods = methods(package, service);
    let full = format!("{package}.{service}");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    for (method, streaming) in &methods {
        let strategy = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            damaged(valid.to_vec()),
        ];
        runner
            .run(&strategy, |body| {
                let code = runtime.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(10),
                        send(channel.clone(), who, &full, method, *streaming, body),
                    )
                    .await
                });
                let code = code.expect("an answer within 10 s");
                prop_assert!(DOCUMENTED.contains(&code), "{method}: {code:?}");
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{method}: {e}"));
    }
    methods.len()
}
