//! The two-stage PII redactor. (Being built.)
