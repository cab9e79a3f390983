use super::*;

#[test]
fn statuses_are_classified_for_retries() {
    assert!(classify("x", StatusCode::OK, "").is_ok());
    assert!(classify("x", StatusCode::ACCEPTED, "").is_ok());
    for s in [
        StatusCode::SERVICE_UNAVAILABLE,
        StatusCode::TOO_MANY_REQUESTS,
        StatusCode::REQUEST_TIMEOUT,
    ] {
        assert!(matches!(
            classify("x", s, ""),
            Err(TargetError::Retryable(_))
        ));
    }
    let e = classify("scale", StatusCode::FORBIDDEN, "forbidden: no rights").unwrap_err();
    assert_eq!(
        e,
        TargetError::Permanent("scale: HTTP 403 Forbidden: forbidden: no rights".into())
    );
}

#[test]
fn replicas_are_read_from_the_documented_fields() {
    let scale = r#"{"kind":"Scale","spec":{"replicas":3},"status":{"replicas":2}}"#;
    assert_eq!(replicas_at(scale, "/status/replicas"), Ok(Some(2)));
    let function = r#"{"name":"figlet","replicas":5,"availableReplicas":4}"#;
    assert_eq!(replicas_at(function, "/replicas"), Ok(Some(5)));
    assert_eq!(replicas_at("{}", "/replicas"), Ok(None));
    assert!(replicas_at("nope", "/replicas").is_err());
}
