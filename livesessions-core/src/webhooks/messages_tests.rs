//! Every message the webhook validators send is a full sentence naming a known field, like
//! the rest of the crate's validation errors.

use super::*;
use crate::field_error::FieldError;

#[tokio::test]
async fn every_webhook_validation_message_is_a_sentence() {
    let mut errors: Vec<FieldError> = Vec::new();
    let long = "x".repeat(3000);
    for text in [
        "",
        "not a link",
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com/#f",
        &format!("https://hooks.example.com/{long}"),
    ] {
        errors.extend(EndpointUrl::parse(text, false).err());
    }
    let policy = TargetPolicy::default();
    for text in ["https://10.0.0.1/", "https://no-such-host.invalid/"] {
        let url = policy.parse_url(text).expect("a well-formed link");
        errors.extend(policy.vet(&url).await.err());
    }
    let http = EndpointUrl::parse("http://93.184.216.34/", true).expect("http allowed");
    errors.extend(policy.vet(&http).await.err());
    errors.extend(EventTypes::parse(Some(&["session.paused"][..])).err());
    errors.extend(EventTypes::parse::<&str>(Some(&[])).err());
    errors.extend(EndpointDescription::parse(&long).err());
    errors.extend(EndpointDescription::parse("a\tb").err());
    errors.extend(WebhookSecret::parse("nope").err());
    errors.extend(WebhookSecret::from_bytes(vec![1; 3]).err());
    errors.extend(EndpointId::parse_field("42", "endpointId").err());

    assert_eq!(errors.len(), 17, "every input above is refused: {errors:?}");
    for e in &errors {
        assert!(
            ["url", "eventTypes", "description", "secret", "endpointId"]
                .contains(&e.field.as_str()),
            "{e:?}"
        );
        let first = e.message.chars().next();
        assert!(
            first.is_some_and(char::is_uppercase) && e.message.ends_with('.'),
            "{} ({}): {:?} is not a sentence",
            e.field,
            e.code,
            e.message
        );
    }
}
