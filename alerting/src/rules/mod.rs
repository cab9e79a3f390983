//! Rule evaluation.
