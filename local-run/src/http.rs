//! One HTTP POST to the emulator: a function invoked as CodePipeline would invoke it, or a call
//! another deploy makes.

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
    let (status, function_error, body) = send(
        url,
        "application/json",
        body,
        "lambda",
        &[("x-amz-invocation-type", invocation_type)],
    )
    .await?;
    Ok((status, function_error, body))
}

/// POSTs a body to a service's API; returns the status and the body.
pub async fn post(
    url: &str,
    content_type: &str,
    body: &str,
    service: &str,
) -> Result<(u16, String), RunError> {
    let (status, _, body) = send(url, content_type, body, service, &[]).await?;
    Ok((status, body))
}

async fn send(
    url: &str,
    content_type: &str,
    body: &str,
    service: &str,
    headers: &[(&str, &str)],
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
    let mut request = Request::post(uri.path())
        .header("host", authority.as_str())
        .header("content-type", content_type)
        // The emulator, like AWS, refuses unsigned calls; it checks no signature.
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/{service}/aws4_request"),
        );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
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
