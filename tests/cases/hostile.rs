//! Hostile input over the wire: arbitrary bytes, and valid requests with
//! their encoding damaged, sent to every CasesService RPC by an
//! authenticated caller. The service answers each with one of the
//! documented status codes, never `INTERNAL` or a dropped connection, and
//! keeps serving.

use std::time::Duration;

use bytes::{Buf as _, BufMut as _};
use cpc_proto::cases::v1 as pb;
use proptest::prelude::*;
use prost::Message as _;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::support::*;

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

/// Every method of CasesService, from the descriptor the server is built
/// from.
fn methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(cpc_proto::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .iter()
        .filter(|f| f.package() == "cpc.cases.v1")
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == "CasesService")
        .flat_map(|s| s.method.iter())
        .map(|m| (m.name().to_owned(), m.server_streaming()))
        .collect()
}

const DOCUMENTED: [Code; 8] = [
    Code::Ok,
    Code::InvalidArgument,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
];

async fn send(channel: Channel, who: &As, method: &str, streaming: bool, body: Vec<u8>) -> Code {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = PathAndQuery::try_from(format!("/cpc.cases.v1.CasesService/{method}")).unwrap();
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
fn damaged(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
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

#[test]
fn arbitrary_and_damaged_requests_get_documented_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (f, channel, who, valid) = runtime.block_on(async {
        let mut f = Fixture::start().await;
        let child = crate::journey::register(&mut f, "C6001").await;
        let channel = f.server.channel().await;
        // A valid request to damage: an update that names a real record.
        let mut update = child.clone();
        update.given_names = "Jamie-Lee".into();
        let valid = pb::UpdateChildRequest {
            child: Some(update),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }
        .encode_to_vec();
        let who = f.team_manager();
        (f, channel, who, valid)
    });
    let methods = methods();
    assert_eq!(methods.len(), 43, "every CasesService method");
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    for (method, streaming) in &methods {
        let strategy = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            damaged(valid.clone()),
        ];
        runner
            .run(&strategy, |body| {
                let code = runtime.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(10),
                        send(channel.clone(), &who, method, *streaming, body),
                    )
                    .await
                });
                let code = code.expect("an answer within 10 s");
                prop_assert!(DOCUMENTED.contains(&code), "{method}: {code:?}");
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{method}: {e}"));
    }
    // Still serving.
    runtime.block_on(async {
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
        f.stop().await;
    });
}
