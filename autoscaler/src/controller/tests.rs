use super::*;

#[test]
fn a_signal_is_one_value() {
    assert_eq!(single(vec![]), Ok(None));
    assert_eq!(single(vec![2.5]), Ok(Some(2.5)));
    let e = single(vec![1.0, 2.0]).unwrap_err();
    assert!(e.contains("2 series"), "{e}");
}
