//! The protobuf codec of every cpc service and client: prost's, except that
//! bytes that do not decode as the request message are `INVALID_ARGUMENT`.
//!
//! gRPC's status code guide suggests `INTERNAL` for a request that cannot be
//! parsed, and tonic follows it. cpc's contract is that bad input is
//! `INVALID_ARGUMENT` and `INTERNAL` means a fault of ours worth an alert,
//! so a caller (or an attacker) sending garbage must not raise one. The
//! generated clients share the codec, so a malformed *response* would read
//! as `INVALID_ARGUMENT` to them as well; cpc's servers only send what prost
//! encoded.

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::ProstCodec;

/// [`ProstCodec`] with decode errors as `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct StrictCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Default for StrictCodec<T, U> {
    fn default() -> Self {
        Self(ProstCodec::default())
    }
}

impl<T, U> Codec for StrictCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = <ProstCodec<T, U> as Codec>::Encoder;
    type Decoder = StrictDecoder<<ProstCodec<T, U> as Codec>::Decoder>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder(self.0.decoder())
    }
}

/// Prost's decoder, with its `INTERNAL` turned into `INVALID_ARGUMENT`.
#[derive(Debug)]
pub struct StrictDecoder<D>(D);

impl<D> Decoder for StrictDecoder<D>
where
    D: Decoder<Error = Status>,
{
    type Item = D::Item;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        self.0.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "the message is not valid protobuf: {}",
                status.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
