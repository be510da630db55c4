//! One HTTP POST to the emulator, for invoking a function as CodePipeline would.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::RunError;

/// POSTs JSON as a Lambda Invoke of this invocation type; returns the status, whether Lambda
/// flagged a function error, and the body.
pub async fn post_json(
    url: &str,
    body: &str,
    invocation_type: &str,
) -> Result<(u16, bool, String), RunError> {
    let failed = |e: &dyn std::fmt::Display| RunError::Setup(format!("POST {url}: {e}"));
    let uri: hyper::Uri = url.parse().map_err(|e| failed(&e))?;
    let authority = uri.authority().ok_or_else(|| failed(&"no host"))?.clone();
    let stream = TcpStream::connect(authority.as_str())
        .await
        .map_err(|e| failed(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed(&e))?;
    tokio::spawn(connection);
    let request = Request::post(uri.path())
        .header("host", authority.as_str())
        .header("content-type", "application/json")
        .header("x-amz-invocation-type", invocation_type)
        // The emulator, like AWS, refuses unsigned calls; it checks no signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/lambda/aws4_request",
        )
        .body(Full::new(Bytes::from(body.to_owned())))
        .map_err(|e| failed(&e))?;
    let response = sender.send_request(request).await.map_err(|e| failed(&e))?;
    let status = response.status().as_u16();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(&e))?
        .to_bytes();
    Ok((
        status,
        function_error,
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}
