//! `cpcctl call`: any cpc RPC from the command line, with the request and
//! the response as JSON (the protobuf JSON mapping), like `grpcurl` but
//! knowing cpc's API without reflection and carrying a bearer token.
//!
//! The messages are dynamic ([`prost_reflect`]) over the descriptor set
//! the services are built from, so every RPC of `proto/` is callable the
//! day it is added.

use std::process::ExitCode;
use std::str::FromStr as _;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use tokio_stream::StreamExt as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Code, Status};
use tonic_types::StatusExt as _;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The RPC, `package.Service/Method`, e.g. `cpc.cases.v1.CasesService/GetChild`.
    method: String,
    /// The request as JSON (protobuf JSON mapping; field names in
    /// lowerCamelCase or as in the .proto). Omitted: an empty request.
    #[arg(long, default_value = "{}")]
    data: String,
    /// Bearer token (see `cpcctl dev token`).
    #[arg(long, env = "CPC_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(flatten)]
    server: crate::connect::Server,
    /// For a streaming RPC: stop after this many messages (default: until
    /// the server ends the stream or the process is interrupted).
    #[arg(long)]
    limit: Option<usize>,
}

/// Why a call failed before or outside the server's answer.
#[derive(Debug)]
struct Usage(String);

/// Prints the response (one JSON object per line for a stream) and exits
/// 0; prints the status as one JSON object on stderr and exits 1 when the
/// server refuses; exits 2 for a bad method name or request.
#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line client"
)]
pub fn run(args: &Args) -> ExitCode {
    let Some(runtime) = crate::connect::runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(call(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(Usage(message))) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Status(status)) => {
            eprintln!("{}", status_json(&status));
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Usage(Usage),
    Status(Status),
}

impl From<Status> for Failure {
    fn from(status: Status) -> Self {
        Failure::Status(status)
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure::Usage(Usage(message.into()))
}

#[allow(clippy::print_stdout, reason = "the response is the command's output")]
async fn call(args: &Args) -> Result<(), Failure> {
    let method = find_method(&args.method).map_err(usage)?;
    let request = parse_request(&method.input(), &args.data).map_err(usage)?;
    let channel = args.server.connect().await.map_err(Status::unavailable)?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("not ready: {e}")))?;
    let path = format!("/{}/{}", method.parent_service().full_name(), method.name());
    let path = PathAndQuery::from_str(&path).map_err(|e| usage(e.to_string()))?;
    let mut request = tonic::Request::new(request);
    if let Some(token) = &args.token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| usage("the token is not a valid header value"))?;
        request.metadata_mut().insert("authorization", value);
    }
    let codec = DynamicCodec {
        output: method.output(),
    };
    if method.is_server_streaming() {
        let mut stream = grpc
            .server_streaming(request, path, codec)
            .await?
            .into_inner();
        let mut printed = 0;
        while args.limit.is_none_or(|limit| printed < limit) {
            match stream.next().await {
                Some(message) => {
                    println!("{}", to_json(&message?));
                    printed += 1;
                }
                None => break,
            }
        }
    } else {
        let response = grpc.unary(request, path, codec).await?.into_inner();
        println!("{}", to_json(&response));
    }
    Ok(())
}

/// The method `package.Service/Method` of cpc's API.
fn find_method(name: &str) -> Result<MethodDescriptor, String> {
    let pool = DescriptorPool::decode(cpc_proto::FILE_DESCRIPTOR_SET)
        .map_err(|e| format!("the built-in API description is unreadable: {e}"))?;
    let (service, method) = name
        .trim_start_matches('/')
        .split_once('/')
        .ok_or_else(|| format!("{name}: expected package.Service/Method"))?;
    let service = pool
        .get_service_by_name(service)
        .ok_or_else(|| format!("no service {service} in cpc's API"))?;
    service
        .methods()
        .find(|m| m.name() == method)
        .ok_or_else(|| format!("{} has no method {method}", service.full_name()))
}

fn parse_request(input: &MessageDescriptor, json: &str) -> Result<DynamicMessage, String> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let message = DynamicMessage::deserialize(input.clone(), &mut deserializer)
        .map_err(|e| format!("--data is not a valid {}: {e}", input.full_name()))?;
    deserializer
        .end()
        .map_err(|e| format!("--data has trailing characters: {e}"))?;
    Ok(message)
}

fn to_json(message: &DynamicMessage) -> String {
    serde_json::to_string(message).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The status as JSON: code, message, and each bad field.
fn status_json(status: &Status) -> serde_json::Value {
    let details = status.get_error_details();
    let violations: Vec<serde_json::Value> = details
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| serde_json::json!({"field": v.field, "description": v.description}))
                .collect()
        })
        .unwrap_or_default();
    let mut json = serde_json::json!({
        "code": code_name(status.code()),
        "message": status.message(),
    });
    if !violations.is_empty() {
        json["fieldViolations"] = serde_json::Value::Array(violations);
    }
    json
}

/// The canonical upper-case name (`INVALID_ARGUMENT`), as gRPC documents
/// codes.
fn code_name(code: Code) -> String {
    let words = format!("{code:?}");
    let mut name = String::with_capacity(words.len() + 4);
    for (i, c) in words.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    name
}

/// Encodes and decodes [`DynamicMessage`]s for tonic.
#[derive(Clone)]
struct DynamicCodec {
    output: MessageDescriptor,
}

struct DynamicEncoder;

struct DynamicDecoder(MessageDescriptor);

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.output.clone())
    }
}

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the request: {e}")))
    }
}

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        let mut message = DynamicMessage::new(self.0.clone());
        message
            .merge(src)
            .map_err(|e| Status::internal(format!("cannot decode the response: {e}")))?;
        Ok(Some(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rpc_of_the_api_is_found_and_takes_json() {
        let method = find_method("cpc.cases.v1.CasesService/GetChild").expect("found");
        assert_eq!(method.input().full_name(), "cpc.cases.v1.GetChildRequest");
        let request = parse_request(&method.input(), r#"{"childId": "abc"}"#).expect("valid");
        assert_eq!(
            request
                .get_field_by_name("child_id")
                .expect("field")
                .as_str(),
            Some("abc")
        );
        assert!(find_method("cpc.cases.v1.CasesService/Nope").is_err());
        assert!(find_method("nope").is_err());
        assert!(parse_request(&method.input(), r#"{"noSuchField": 1}"#).is_err());
    }

    #[test]
    fn codes_are_named_as_grpc_names_them() {
        assert_eq!(code_name(Code::InvalidArgument), "INVALID_ARGUMENT");
        assert_eq!(code_name(Code::NotFound), "NOT_FOUND");
        assert_eq!(code_name(Code::Ok), "OK");
    }
}
