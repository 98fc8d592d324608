//! Hostile input over the wire, shared by the end-to-end suites: arbitrary
//! bytes, valid requests with their encoding damaged, and well-formed
//! requests with hostile contents, sent to every RPC of a service by an
//! authenticated caller. The service answers each with one of the
//! documented status codes, never `INTERNAL` or a dropped connection.

use std::time::Duration;

use bytes::{Buf as _, BufMut as _, Bytes};
use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value};
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

/// One RPC of a service, from the descriptor the server is built from.
pub struct Method {
    pub name: String,
    pub streaming: bool,
    pub input: MessageDescriptor,
}

/// Every method of `package`.`service`.
pub fn methods(package: &str, service: &str) -> Vec<Method> {
    let pool = DescriptorPool::decode(cpc_proto::FILE_DESCRIPTOR_SET).unwrap();
    let service = pool
        .get_service_by_name(&format!("{package}.{service}"))
        .unwrap_or_else(|| panic!("no service {package}.{service}"));
    service
        .methods()
        .map(|m| Method {
            name: m.name().to_owned(),
            streaming: m.is_server_streaming(),
            input: m.input(),
        })
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

/// Requests sent to each method.
const CASES: u32 = 48;

/// Sends arbitrary bytes, damaged copies of `valid`, and well-formed
/// requests with hostile contents ([`hostile`], using the `known` ids) to
/// every method of `package`.`service`, 48 cases each; each answer must be
/// a documented code within 10 s. Returns how many methods were tried.
pub fn assault(
    runtime: &tokio::runtime::Runtime,
    channel: &Channel,
    who: &As,
    package: &str,
    service: &str,
    valid: &[u8],
    known: &[String],
) -> usize {
    let methods = methods(package, service);
    let full = format!("{package}.{service}");
    for method in &methods {
        // A runner per method: a runner counts its cases across runs, so a
        // shared one would stop after the first method.
        let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        });
        let strategy = prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            damaged(valid.to_vec()),
            hostile(method.input.clone(), known.to_vec()),
        ];
        let sent = std::cell::Cell::new(0_u32);
        runner
            .run(&strategy, |body| {
                sent.set(sent.get() + 1);
                let code = runtime.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(10),
                        send(
                            channel.clone(),
                            who,
                            &full,
                            &method.name,
                            method.streaming,
                            body,
                        ),
                    )
                    .await
                });
                let code = code.expect("an answer within 10 s");
                prop_assert!(DOCUMENTED.contains(&code), "{}: {code:?}", method.name);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", method.name));
        assert_eq!(sent.get(), CASES, "{}: every case sent", method.name);
    }
    methods.len()
}

/// Well-formed requests of type `input` with hostile contents: any field
/// may be set; strings are empty, huge, control characters, injection
/// attempts, other authorities, fresh UUIDs or the `known` ids (so a
/// request can reach past "not found" into the validators); numbers at
/// their extremes; enum values out of range; nested messages three deep;
/// repeated fields up to three long.
pub fn hostile(input: MessageDescriptor, known: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    any::<u64>().prop_map(move |seed| {
        let mut fill = Fill {
            state: seed | 1,
            known: &known,
        };
        fill.message(&input, 0).encode_to_vec()
    })
}

/// Strings a careless validator or query might mishandle.
const HOSTILE_STRINGS: [&str; 16] = [
    "",
    " ",
    "\0",
    "\u{202e}gnp.exe",
    "'; DROP TABLE children; --",
    "%s%s%n",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\u{1F600}",
    "e\u{0301}",
    "00000000-0000-0000-0000-000000000000",
    "E09000033",
    "E10000013",
    "9999-99-99",
    "-1",
    "NaN",
];

/// Fills messages from a seeded xorshift generator.
struct Fill<'a> {
    state: u64,
    known: &'a [String],
}

impl Fill<'_> {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap()
    }

    fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[self.below(values.len())]
    }

    fn message(&mut self, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(descriptor.clone());
        for field in descriptor.fields() {
            let nested = matches!(field.kind(), Kind::Message(_));
            if field.is_map() || (nested && depth >= 3) || self.below(3) == 0 {
                continue;
            }
            let value = if field.is_list() {
                Value::List(
                    (0..self.below(4))
                        .map(|_| self.value(&field.kind(), depth))
                        .collect(),
                )
            } else {
                self.value(&field.kind(), depth)
            };
            message.set_field(&field, value);
        }
        message
    }

    fn value(&mut self, kind: &Kind, depth: usize) -> Value {
        match kind {
            Kind::String => Value::String(self.string()),
            Kind::Bytes => Value::Bytes(Bytes::from(self.string().into_bytes())),
            Kind::Bool => Value::Bool(self.below(2) == 0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Value::I32(self.pick(&[0, 1, -1, 13, 32, 2026, i32::MIN, i32::MAX]))
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Value::I64(self.pick(&[0, 1, -1, 1 << 40, i64::MIN, i64::MAX]))
            }
            Kind::Uint32 | Kind::Fixed32 => Value::U32(self.pick(&[0, 1, u32::MAX])),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(self.pick(&[0, 1, u64::MAX])),
            Kind::Float => Value::F32(self.pick(&[0.0, -1.0, f32::NAN, f32::INFINITY])),
            Kind::Double => Value::F64(self.pick(&[0.0, -1.0, f64::NAN, f64::NEG_INFINITY])),
            Kind::Enum(descriptor) => {
                let defined: Vec<i32> = descriptor.values().map(|v| v.number()).collect();
                if self.below(2) == 0 {
                    Value::EnumNumber(self.pick(&defined))
                } else {
                    Value::EnumNumber(self.pick(&[-1, 99, i32::MAX]))
                }
            }
            Kind::Message(descriptor) => Value::Message(self.message(descriptor, depth + 1)),
        }
    }

    fn string(&mut self) -> String {
        match self.below(5) {
            0 if !self.known.is_empty() => self.known[self.below(self.known.len())].clone(),
            1 => uuid::Uuid::from_u128(u128::from(self.next()) << 64 | u128::from(self.next()))
                .to_string(),
            2 => self
                .pick(&["x", "\u{e9}", "\u{1F600}"])
                .repeat(self.pick(&[129, 2_001, 70_000])),
            _ => self.pick(&HOSTILE_STRINGS).to_owned(),
        }
    }
}
