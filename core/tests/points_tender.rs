//! Points as a tender (积分抵现): how many points pay how much, the caps, replacement, returns
//! giving the points back by the proration rule; and tiers from lifetime points.

mod common;

use common::*;
use rust_decimal_macros::dec;
use tillstone_core::cart::{Cart, CartError};
use tillstone_core::catalog::Unit;
use tillstone_core::points::{RedeemRules, Tier, TierRules, effective_tier, next_tier};
use tillstone_core::returns::{ReturnLine, build_return};
use tillstone_core::sale::complete_sale;
use tillstone_core::tender::TenderKind;

/// 100 points = ¥1, at most half the order.
fn rules() -> RedeemRules {
    RedeemRules::default()
}

/// Two lines: 4 × 10.00 and 1 × 20.00 = 60.00, with a member.
fn cart() -> Cart {
    let mut c = Cart::new("c");
    c.add_product(
        &product("A", dec!(10.00), dec!(0.13), Unit::Piece),
        dec!(4),
        None,
    )
    .unwrap();
    c.add_product(
        &product("B", dec!(20.00), dec!(0.13), Unit::Piece),
        dec!(1),
        None,
    )
    .unwrap();
    c.set_member(Some("M1".into())).unwrap();
    c
}

#[test]
fn points_pay_in_whole_steps_within_the_share_and_what_is_due() {
    let st = settings();
    // Without a member: refused, with the reason.
    let mut anon = cart();
    anon.set_member(None).unwrap();
    assert_eq!(
        anon.add_points_tender(5_000, &rules(), &st),
        Err(CartError::PointsNeedMember)
    );
    // 1,250 points → 12 steps = ¥12.00 (the 50 left over stay with the member).
    let mut c = cart();
    let (_, used, amount) = c.add_points_tender(1_250, &rules(), &st).unwrap();
    assert_eq!((used, amount), (1_200, dec!(12.00)));
    // A second points tender replaces the first; at most half of 60.00 = 30.00.
    let (id, used, amount) = c.add_points_tender(99_999, &rules(), &st).unwrap();
    assert_eq!((used, amount), (3_000, dec!(30.00)));
    assert_eq!(c.tenders.len(), 1);
    assert_eq!(c.tenders[0].tender_id, id);
    assert_eq!(c.tenders[0].points, Some(3_000));
    // The generic tender refuses points (they need a count).
    assert_eq!(
        c.add_tender(TenderKind::Points, dec!(1), None, &st),
        Err(CartError::PointsTenderOnly)
    );
    // After 55.50 by card only 4.50 is left: points cover 4.00 of it.
    let mut c = cart();
    c.add_tender(TenderKind::Card, dec!(55.50), None, &st)
        .unwrap();
    let (_, used, amount) = c.add_points_tender(10_000, &rules(), &st).unwrap();
    assert_eq!((used, amount), (400, dec!(4.00)));
    // Too few points for one step, or below the minimum.
    let mut c = cart();
    assert!(matches!(
        c.add_points_tender(99, &rules(), &st),
        Err(CartError::NoPointsRedeemable { offered: 99, .. })
    ));
    let strict = RedeemRules {
        min_points: 1_000,
        ..rules()
    };
    assert!(matches!(
        c.add_points_tender(900, &strict, &st),
        Err(CartError::NoPointsRedeemable { .. })
    ));
    assert!(
        c.tenders.is_empty(),
        "a refused points tender changes nothing"
    );
}

#[test]
fn returns_give_the_points_back_by_the_proration_rule() {
    let st = settings();
    let mut c = cart();
    let (_, used, _) = c.add_points_tender(2_999, &rules(), &st).unwrap();
    assert_eq!(used, 2_900);
    c.add_tender(TenderKind::Cash, dec!(31.00), None, &st)
        .unwrap();
    let sale = complete_sale(&c, &st, ctx_simple("S1")).unwrap();
    let pts = sale
        .tenders
        .iter()
        .find(|t| t.kind == TenderKind::Points)
        .unwrap();
    assert_eq!((pts.points, pts.applied), (Some(2_900), dec!(29.00)));

    // Return the 20.00 line (1/3 of the order), then one A, then the rest.
    let mut prior = Vec::new();
    let mut back = Vec::new();
    for (n, lines) in [
        vec![ReturnLine {
            line_id: 2,
            qty: dec!(1),
        }],
        vec![ReturnLine {
            line_id: 1,
            qty: dec!(1),
        }],
        vec![ReturnLine {
            line_id: 1,
            qty: dec!(3),
        }],
    ]
    .into_iter()
    .enumerate()
    {
        let r = build_return(&sale, &prior, &lines, &st, ctx_simple(&format!("R{n}"))).unwrap();
        let p: i64 = r
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Points)
            .map(|t| t.points.expect("a points refund says how many"))
            .sum();
        back.push(p);
        prior.push(r);
    }
    // Each part ≈ its money share of the points tender; all together exactly the points used.
    assert_eq!(back.iter().sum::<i64>(), 2_900, "{back:?}");
    assert!((960..=970).contains(&back[0]), "{back:?}");
    assert!((480..=490).contains(&back[1]), "{back:?}");
}

#[test]
fn tiers_come_from_lifetime_points_and_never_demote_below_hq() {
    let rules = TierRules::default(); // standard 0, silver 5,000, gold 20,000
    assert_eq!(effective_tier("standard", 4_999, &rules), "standard");
    assert_eq!(effective_tier("standard", 5_000, &rules), "silver");
    assert_eq!(effective_tier("silver", 20_001, &rules), "gold");
    // HQ's higher tier stands; HQ's own special tier is kept.
    assert_eq!(effective_tier("gold", 10, &rules), "gold");
    assert_eq!(effective_tier("staff", 30_000, &rules), "staff");
    assert_eq!(effective_tier("", 6_000, &rules), "silver");
    assert_eq!(
        next_tier(4_000, "standard", &rules),
        Some(("silver".into(), 1_000))
    );
    // HQ made them gold below gold's threshold: nothing above gold.
    assert_eq!(next_tier(12_800, "gold", &rules), None);
    assert_eq!(
        next_tier(12_800, "silver", &rules),
        Some(("gold".into(), 7_200))
    );
    assert_eq!(next_tier(25_000, "gold", &rules), None);
    let none = TierRules {
        basis: Default::default(),
        tiers: Vec::<Tier>::new(),
    };
    assert_eq!(effective_tier("vip", 1, &none), "vip");
}
