//! Each call's time limit on the server: `limits.request_timeout`, except
//! the few calls a component names as slow (the census return, which runs
//! the DfE validator over a whole authority's year), which get
//! `limits.slow_call_timeout`. A client's shorter `grpc-timeout` still wins
//! (tonic applies it). A call past its limit ends `CANCELLED` ("Timeout
//! expired"), as tonic's own server timeout does; for a streaming call the
//! limit covers opening the stream, not the stream's life.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{Layer, Service};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The limits, by method path (`/cpc.reporting.v1.ReportingService/...`).
#[derive(Clone, Debug)]
pub struct CallDeadlineLayer {
    default: Duration,
    slow: Duration,
    slow_calls: Arc<[&'static str]>,
}

impl CallDeadlineLayer {
    pub fn new(default: Duration, slow: Duration, slow_calls: Vec<&'static str>) -> Self {
        Self {
            default,
            slow,
            slow_calls: slow_calls.into(),
        }
    }

    fn limit_for(&self, path: &str) -> Duration {
        if self.slow_calls.contains(&path) {
            self.slow
        } else {
            self.default
        }
    }
}

impl<S> Layer<S> for CallDeadlineLayer {
    type Service = CallDeadline<S>;

    fn layer(&self, inner: S) -> CallDeadline<S> {
        CallDeadline {
            inner,
            limits: self.clone(),
        }
    }
}

/// See [`CallDeadlineLayer`].
#[derive(Clone, Debug)]
pub struct CallDeadline<S> {
    inner: S,
    limits: CallDeadlineLayer,
}

impl<S, B> Service<http::Request<B>> for CallDeadline<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let limit = self.limits.limit_for(request.uri().path());
        let call = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, call).await {
                Ok(answer) => answer.map_err(Into::into),
                Err(_) => Err(Box::new(tonic::TimeoutExpired(())) as BoxError),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLOW: &str = "/cpc.reporting.v1.ReportingService/GenerateCinCensus";

    /// A call that takes a minute to answer, behind the deadlines.
    async fn a_minute_long(path: &str) -> Result<(), BoxError> {
        let layer = CallDeadlineLayer::new(
            Duration::from_secs(30),
            Duration::from_secs(300),
            vec![SLOW],
        );
        let mut service = layer.layer(tower::service_fn(|_: http::Request<()>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, BoxError>(())
        }));
        let request = http::Request::builder()
            .uri(path)
            .body(())
            .unwrap_or_default();
        service.call(request).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_past_its_limit_ends_as_tonic_ends_one() {
        let stopped = a_minute_long("/cpc.reporting.v1.ReportingService/GetMinutes").await;
        let error = stopped.err().unwrap_or_else(|| "no error".into());
        assert!(error.is::<tonic::TimeoutExpired>(), "{error}");
        assert!(a_minute_long(SLOW).await.is_ok());
    }

    #[test]
    fn only_the_named_calls_are_slow() {
        let layer = CallDeadlineLayer::new(
            Duration::from_secs(30),
            Duration::from_secs(300),
            vec!["/cpc.reporting.v1.ReportingService/GenerateCinCensus"],
        );
        assert_eq!(
            layer.limit_for("/cpc.reporting.v1.ReportingService/GenerateCinCensus"),
            Duration::from_secs(300)
        );
        assert_eq!(
            layer.limit_for("/cpc.reporting.v1.ReportingService/GetMinutes"),
            Duration::from_secs(30)
        );
    }
}
