//! Promotions engine: one table of cases per rule type and for stacking, exclusivity and the
//! best-for-the-customer choice; JSON format; property tests (caps, reconciliation, order
//! independence, determinism).

use chrono::{NaiveDate, NaiveDateTime};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::BTreeMap;
use tillstone_core::catalog::Unit;
use tillstone_core::money::RoundingMode;
use tillstone_core::promo::*;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A piece line whose amount is `qty × price`.
fn line(id: u32, sku: &str, cat: &str, qty: i64, price: Decimal) -> PromoLine {
    PromoLine {
        line_id: id,
        sku: sku.into(),
        category: cat.into(),
        unit: Unit::Piece,
        qty: Decimal::from(qty),
        unit_price: price,
        amount: price * Decimal::from(qty),
    }
}

/// A line with a manual discount: its amount is given.
fn line_amount(
    id: u32,
    sku: &str,
    cat: &str,
    qty: i64,
    price: Decimal,
    amount: Decimal,
) -> PromoLine {
    PromoLine {
        amount,
        ..line(id, sku, cat, qty, price)
    }
}

fn kg(id: u32, sku: &str, cat: &str, qty: Decimal, price: Decimal) -> PromoLine {
    PromoLine {
        line_id: id,
        sku: sku.into(),
        category: cat.into(),
        unit: Unit::Kg,
        qty,
        unit_price: price,
        amount: (qty * price).round_dp(2),
    }
}

fn cola(id: u32, qty: i64) -> PromoLine {
    line(id, "COLA", "drinks", qty, dec!(3.50))
}
fn tea(id: u32, qty: i64) -> PromoLine {
    line(id, "TEA", "drinks", qty, dec!(4.00))
}
fn juice(id: u32, qty: i64) -> PromoLine {
    line(id, "JUICE", "drinks", qty, dec!(6.00))
}
fn chips(id: u32, qty: i64) -> PromoLine {
    line(id, "CHIPS", "snacks", qty, dec!(8.80))
}
fn rice(id: u32, qty: i64) -> PromoLine {
    line(id, "RICE", "grocery", qty, dec!(59.90))
}
fn apple(id: u32, qty: Decimal) -> PromoLine {
    kg(id, "APPLE", "fruit", qty, dec!(12.80))
}

fn rule(id: &str, priority: i32, benefit: Benefit) -> Rule {
    Rule {
        id: id.into(),
        name: format!("促销{id}"),
        name_en: format!("Promo {id}"),
        priority,
        exclusive: false,
        group: None,
        when: Conditions::default(),
        benefit,
    }
}

fn exclusive(mut r: Rule) -> Rule {
    r.exclusive = true;
    r
}

fn grouped(mut r: Rule, g: &str) -> Rule {
    r.group = Some(g.into());
    r
}

fn when(mut r: Rule, w: Conditions) -> Rule {
    r.when = w;
    r
}

fn skus(s: &[&str]) -> Scope {
    Scope::Skus(s.iter().map(|x| x.to_string()).collect())
}
fn cats(s: &[&str]) -> Scope {
    Scope::Categories(s.iter().map(|x| x.to_string()).collect())
}

fn pct_off(scope: Scope, percent: Decimal) -> Benefit {
    Benefit::PercentOff {
        scope,
        percent,
        min_spend: None,
    }
}
fn amount_off(scope: Scope, amount: Decimal, per_item: bool) -> Benefit {
    Benefit::AmountOff {
        scope,
        amount,
        per_item,
    }
}
fn fixed(sku: &str, price: Decimal) -> Benefit {
    Benefit::FixedPrice {
        items: vec![SkuPrice {
            sku: sku.into(),
            price,
        }],
    }
}
fn member_price(sku: &str, price: Decimal) -> Benefit {
    Benefit::MemberPrice {
        items: vec![SkuPrice {
            sku: sku.into(),
            price,
        }],
    }
}
fn bxgy(scope: Scope, buy: u32, get: u32, percent: Decimal) -> Benefit {
    Benefit::BuyXGetY {
        scope,
        buy,
        get,
        reward: Reward::Cheapest,
        percent,
        max_sets: None,
    }
}
fn multi(scope: Scope, qty: u32, price: Decimal) -> Benefit {
    Benefit::MultiBuy {
        scope,
        qty,
        price,
        max_sets: None,
    }
}
fn threshold(scope: Scope, tiers: &[(Decimal, Decimal)], repeat: bool) -> Benefit {
    Benefit::SpendThreshold {
        scope,
        tiers: tiers
            .iter()
            .map(|(spend, off)| Tier {
                spend: *spend,
                off: *off,
            })
            .collect(),
        repeat,
        max_off: None,
    }
}

/// Wednesday 2025-06-11 12:00 at HZ01, no member.
fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}
fn ctx() -> PromoContext {
    PromoContext {
        store_code: "HZ01".into(),
        local_time: at(2025, 6, 11, 12, 0),
        member: None,
        minor_units: 2,
        rounding: RoundingMode::HalfUp,
    }
}
fn ctx_at(t: NaiveDateTime) -> PromoContext {
    PromoContext {
        local_time: t,
        ..ctx()
    }
}
fn ctx_member(tier: &str) -> PromoContext {
    PromoContext {
        member: Some(PromoMember {
            member_id: "M1".into(),
            tier: tier.into(),
        }),
        ..ctx()
    }
}

struct Case {
    name: &'static str,
    lines: Vec<PromoLine>,
    rules: Vec<Rule>,
    ctx: PromoContext,
    /// Non-zero promotion discount per line id.
    expect: Vec<(u32, Decimal)>,
    /// Ids of the rules that applied, in order, with their totals.
    applied: Vec<(&'static str, Decimal)>,
}

fn case(
    name: &'static str,
    lines: Vec<PromoLine>,
    rules: Vec<Rule>,
    expect: &[(u32, Decimal)],
    applied: &[(&'static str, Decimal)],
) -> Case {
    Case {
        name,
        lines,
        rules,
        ctx: ctx(),
        expect: expect.to_vec(),
        applied: applied.to_vec(),
    }
}

/// Invariants every result must satisfy.
fn check_invariants(lines: &[PromoLine], r: &PromoResult) -> Result<(), String> {
    if r.lines.len() != lines.len() {
        return Err("one result line per input line".into());
    }
    let mut sum = Decimal::ZERO;
    for (l, out) in lines.iter().zip(&r.lines) {
        if l.line_id != out.line_id {
            return Err(format!("line {} out of order", l.line_id));
        }
        let amount = l.amount.round_dp(2).max(Decimal::ZERO);
        if out.amount < Decimal::ZERO || out.amount > amount {
            return Err(format!(
                "line {}: discount {} outside 0..={amount}",
                l.line_id, out.amount
            ));
        }
        if out.amount.scale() != 2 {
            return Err(format!("line {}: {} not in fen", l.line_id, out.amount));
        }
        sum += out.amount;
    }
    if sum != r.total {
        return Err(format!("Σ lines {sum} != total {}", r.total));
    }
    let apps: Decimal = r.applications.iter().map(|a| a.total).sum();
    if apps != r.total {
        return Err(format!("Σ applications {apps} != total {}", r.total));
    }
    let mut per_line: BTreeMap<u32, Decimal> = BTreeMap::new();
    for a in &r.applications {
        let s: Decimal = a.lines.iter().map(|l| l.amount).sum();
        if s != a.total || a.total <= Decimal::ZERO {
            return Err(format!("{}: lines {s} vs total {}", a.rule_id, a.total));
        }
        for l in &a.lines {
            if l.amount <= Decimal::ZERO {
                return Err(format!("{}: empty share on {}", a.rule_id, l.line_id));
            }
            *per_line.entry(l.line_id).or_default() += l.amount;
        }
    }
    for (id, d) in per_line {
        if r.discount_for(id) != d {
            return Err(format!(
                "line {id}: applications {d} vs {}",
                r.discount_for(id)
            ));
        }
    }
    Ok(())
}

fn run_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for c in &cases {
        let r = evaluate(&c.lines, &c.ctx, &c.rules);
        if let Err(e) = check_invariants(&c.lines, &r) {
            failures.push(format!("{}: {e}", c.name));
            continue;
        }
        let got: Vec<(u32, Decimal)> = r
            .lines
            .iter()
            .filter(|l| !l.amount.is_zero())
            .map(|l| (l.line_id, l.amount))
            .collect();
        let mut want = c.expect.clone();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        if got_sorted != want {
            failures.push(format!("{}: lines {got:?}, expected {want:?}", c.name));
        }
        let apps: Vec<(&str, Decimal)> = r
            .applications
            .iter()
            .map(|a| (a.rule_id.as_str(), a.total))
            .collect();
        if apps != c.applied {
            failures.push(format!(
                "{}: applied {apps:?}, expected {:?}",
                c.name, c.applied
            ));
        }
        let want_total: Decimal = c.expect.iter().map(|(_, d)| *d).sum();
        if r.total != want_total {
            failures.push(format!("{}: total {} != {want_total}", c.name, r.total));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Rule types
// ---------------------------------------------------------------------------------------------

#[test]
fn percent_and_amount_off() {
    run_cases(vec![
        case(
            "20 % off a SKU",
            vec![cola(1, 3), chips(2, 1)],
            vec![rule("P", 1, pct_off(skus(&["COLA"]), dec!(20)))],
            &[(1, dec!(2.10))],
            &[("P", dec!(2.10))],
        ),
        case(
            "10 % off a category, allocated by line amount",
            vec![cola(1, 3), juice(2, 1), chips(3, 1)],
            vec![rule("P", 1, pct_off(cats(&["drinks"]), dec!(10)))],
            &[(1, dec!(1.05)), (2, dec!(0.60))],
            &[("P", dec!(1.65))],
        ),
        case(
            "5 % off the order: rounded once (0.815 -> 0.82), largest remainder",
            vec![cola(1, 1), tea(2, 1), chips(3, 1)],
            vec![rule("P", 1, pct_off(Scope::Order, dec!(5)))],
            &[(1, dec!(0.18)), (2, dec!(0.20)), (3, dec!(0.44))],
            &[("P", dec!(0.82))],
        ),
        case(
            "满50打9折 reached",
            vec![rice(1, 1)],
            vec![rule(
                "P",
                1,
                Benefit::PercentOff {
                    scope: Scope::Order,
                    percent: dec!(10),
                    min_spend: Some(dec!(50)),
                },
            )],
            &[(1, dec!(5.99))],
            &[("P", dec!(5.99))],
        ),
        case(
            "满50打9折 not reached",
            vec![chips(1, 5)],
            vec![rule(
                "P",
                1,
                Benefit::PercentOff {
                    scope: Scope::Order,
                    percent: dec!(10),
                    min_spend: Some(dec!(50)),
                },
            )],
            &[],
            &[],
        ),
        case(
            "¥5 off a category once",
            vec![chips(1, 2), cola(2, 1)],
            vec![rule("A", 1, amount_off(cats(&["snacks"]), dec!(5), false))],
            &[(1, dec!(5.00))],
            &[("A", dec!(5.00))],
        ),
        case(
            "¥1 off each cola",
            vec![cola(1, 3)],
            vec![rule("A", 1, amount_off(skus(&["COLA"]), dec!(1), true))],
            &[(1, dec!(3.00))],
            &[("A", dec!(3.00))],
        ),
        case(
            "¥5 off each cola at ¥3.50 is capped at the price",
            vec![cola(1, 2)],
            vec![rule("A", 1, amount_off(skus(&["COLA"]), dec!(5), true))],
            &[(1, dec!(7.00))],
            &[("A", dec!(7.00))],
        ),
        case(
            "¥100 off a ¥3.50 order is capped",
            vec![cola(1, 1)],
            vec![rule("A", 1, amount_off(Scope::Order, dec!(100), false))],
            &[(1, dec!(3.50))],
            &[("A", dec!(3.50))],
        ),
        case(
            "weighed line takes a percentage (16.06 -> 1.61)",
            vec![apple(1, dec!(1.255))],
            vec![rule("P", 1, pct_off(cats(&["fruit"]), dec!(10)))],
            &[(1, dec!(1.61))],
            &[("P", dec!(1.61))],
        ),
        case(
            "percentage on a line with a manual discount works on its amount",
            vec![line_amount(1, "COLA", "drinks", 3, dec!(3.50), dec!(9.00))],
            vec![rule("P", 1, pct_off(skus(&["COLA"]), dec!(50)))],
            &[(1, dec!(4.50))],
            &[("P", dec!(4.50))],
        ),
    ]);
}

#[test]
fn fixed_and_member_prices() {
    let mut member_cases = vec![
        case(
            "chips at ¥6.80",
            vec![chips(1, 2), cola(2, 1)],
            vec![rule("F", 1, fixed("CHIPS", dec!(6.80)))],
            &[(1, dec!(4.00))],
            &[("F", dec!(4.00))],
        ),
        case(
            "a fixed price above the price gives nothing",
            vec![cola(1, 2)],
            vec![rule("F", 1, fixed("COLA", dec!(3.80)))],
            &[],
            &[],
        ),
        case(
            "fixed price on the manually discounted amount (9.00 over 3 units)",
            vec![line_amount(1, "COLA", "drinks", 3, dec!(3.50), dec!(9.00))],
            vec![rule("F", 1, fixed("COLA", dec!(2.50)))],
            &[(1, dec!(1.50))],
            &[("F", dec!(1.50))],
        ),
        case(
            "uneven unit amounts (10.00 over 3 = 3.34 + 3.33 + 3.33) at ¥3.00",
            vec![line_amount(1, "COLA", "drinks", 3, dec!(3.50), dec!(10.00))],
            vec![rule("F", 1, fixed("COLA", dec!(3.00)))],
            &[(1, dec!(1.00))],
            &[("F", dec!(1.00))],
        ),
        case(
            "weighed items take no fixed price",
            vec![apple(1, dec!(1.5))],
            vec![rule("F", 1, fixed("APPLE", dec!(9.99)))],
            &[],
            &[],
        ),
        case(
            "member price needs a member",
            vec![chips(1, 1)],
            vec![rule("M", 1, member_price("CHIPS", dec!(7.50)))],
            &[],
            &[],
        ),
    ];
    let mut with_member = case(
        "member price with a member",
        vec![chips(1, 1)],
        vec![rule("M", 1, member_price("CHIPS", dec!(7.50)))],
        &[(1, dec!(1.30))],
        &[("M", dec!(1.30))],
    );
    with_member.ctx = ctx_member("silver");
    member_cases.push(with_member);
    let gold_only = || {
        vec![when(
            rule("G", 1, pct_off(Scope::Order, dec!(10))),
            Conditions {
                tiers: vec!["gold".into()],
                ..Default::default()
            },
        )]
    };
    let mut silver = case(
        "gold-only rule, silver member",
        vec![rice(1, 1)],
        gold_only(),
        &[],
        &[],
    );
    silver.ctx = ctx_member("silver");
    member_cases.push(silver);
    let mut gold = case(
        "gold-only rule, gold member",
        vec![rice(1, 1)],
        gold_only(),
        &[(1, dec!(5.99))],
        &[("G", dec!(5.99))],
    );
    gold.ctx = ctx_member("gold");
    member_cases.push(gold);
    member_cases.push(case(
        "members-only rule, no member",
        vec![rice(1, 1)],
        vec![when(
            rule("G", 1, pct_off(Scope::Order, dec!(10))),
            Conditions {
                members_only: true,
                ..Default::default()
            },
        )],
        &[],
        &[],
    ));
    run_cases(member_cases);
}

#[test]
fn buy_x_get_y() {
    run_cases(vec![
        case(
            "cola buy 2 get 1",
            vec![cola(1, 3)],
            vec![rule("B", 1, bxgy(skus(&["COLA"]), 2, 1, dec!(100)))],
            &[(1, dec!(3.50))],
            &[("B", dec!(3.50))],
        ),
        case(
            "cola buy 2 get 1, seven colas: two sets",
            vec![cola(1, 7)],
            vec![rule("B", 1, bxgy(skus(&["COLA"]), 2, 1, dec!(100)))],
            &[(1, dec!(7.00))],
            &[("B", dec!(7.00))],
        ),
        case(
            "two colas are not a set",
            vec![cola(1, 2)],
            vec![rule("B", 1, bxgy(skus(&["COLA"]), 2, 1, dec!(100)))],
            &[],
            &[],
        ),
        case(
            "mixed drinks: the cheapest of the most expensive three is free, spread over the set",
            vec![cola(1, 2), juice(2, 1), tea(3, 1)],
            vec![rule("B", 1, bxgy(cats(&["drinks"]), 2, 1, dec!(100)))],
            &[(1, dec!(0.91)), (2, dec!(1.55)), (3, dec!(1.04))],
            &[("B", dec!(3.50))],
        ),
        case(
            "second tea half price",
            vec![tea(1, 2)],
            vec![rule("B", 1, bxgy(skus(&["TEA"]), 1, 1, dec!(50)))],
            &[(1, dec!(2.00))],
            &[("B", dec!(2.00))],
        ),
        case(
            "buy 2 chips get a cola free",
            vec![chips(1, 2), cola(2, 2)],
            vec![rule(
                "B",
                1,
                Benefit::BuyXGetY {
                    scope: skus(&["CHIPS"]),
                    buy: 2,
                    get: 1,
                    reward: Reward::Skus(vec!["COLA".into()]),
                    percent: dec!(100),
                    max_sets: None,
                },
            )],
            &[(1, dec!(2.92)), (2, dec!(0.58))],
            &[("B", dec!(3.50))],
        ),
        case(
            "buy 1 get 1 of the same SKU list: the reward is the most expensive",
            vec![tea(1, 1), juice(2, 1)],
            vec![rule(
                "B",
                1,
                Benefit::BuyXGetY {
                    scope: cats(&["drinks"]),
                    buy: 1,
                    get: 1,
                    reward: Reward::Skus(vec!["TEA".into(), "JUICE".into()]),
                    percent: dec!(100),
                    max_sets: None,
                },
            )],
            // 6.00 free, spread 6.00 over 6.00 + 4.00
            &[(1, dec!(2.40)), (2, dec!(3.60))],
            &[("B", dec!(6.00))],
        ),
        case(
            "max one set per order",
            vec![cola(1, 6)],
            vec![rule(
                "B",
                1,
                Benefit::BuyXGetY {
                    scope: skus(&["COLA"]),
                    buy: 2,
                    get: 1,
                    reward: Reward::Cheapest,
                    percent: dec!(100),
                    max_sets: Some(1),
                },
            )],
            &[(1, dec!(3.50))],
            &[("B", dec!(3.50))],
        ),
        case(
            "weighed items are not in sets",
            vec![apple(1, dec!(3)), apple(2, dec!(1))],
            vec![rule("B", 1, bxgy(skus(&["APPLE"]), 1, 1, dec!(100)))],
            &[],
            &[],
        ),
    ]);
}

#[test]
fn multi_buy() {
    run_cases(vec![
        case(
            "3 colas for ¥10, four colas",
            vec![cola(1, 4)],
            vec![rule("M", 1, multi(skus(&["COLA"]), 3, dec!(10)))],
            &[(1, dec!(0.50))],
            &[("M", dec!(0.50))],
        ),
        case(
            "3 colas for ¥10, six colas",
            vec![cola(1, 6)],
            vec![rule("M", 1, multi(skus(&["COLA"]), 3, dec!(10)))],
            &[(1, dec!(1.00))],
            &[("M", dec!(1.00))],
        ),
        case(
            "any 3 drinks for ¥10: the most expensive three",
            vec![cola(1, 2), juice(2, 1), tea(3, 1)],
            vec![rule("M", 1, multi(cats(&["drinks"]), 3, dec!(10)))],
            &[(1, dec!(0.91)), (2, dec!(1.55)), (3, dec!(1.04))],
            &[("M", dec!(3.50))],
        ),
        case(
            "2 teas for ¥9 is dearer than ¥8: nothing",
            vec![tea(1, 2)],
            vec![rule("M", 1, multi(skus(&["TEA"]), 2, dec!(9)))],
            &[],
            &[],
        ),
    ]);
}

#[test]
fn spend_thresholds() {
    let tiers = [(dec!(200), dec!(20)), (dec!(400), dec!(50))];
    run_cases(vec![
        case(
            "满200减20 at 239.60",
            vec![rice(1, 4)],
            vec![rule("T", 1, threshold(Scope::Order, &tiers, false))],
            &[(1, dec!(20.00))],
            &[("T", dec!(20.00))],
        ),
        case(
            "满400减50 at 419.30",
            vec![rice(1, 7)],
            vec![rule("T", 1, threshold(Scope::Order, &tiers, false))],
            &[(1, dec!(50.00))],
            &[("T", dec!(50.00))],
        ),
        case(
            "179.70 reaches no tier",
            vec![rice(1, 3)],
            vec![rule("T", 1, threshold(Scope::Order, &tiers, false))],
            &[],
            &[],
        ),
        case(
            "每满100减10 at 419.30",
            vec![rice(1, 7)],
            vec![rule(
                "T",
                1,
                threshold(Scope::Order, &[(dec!(100), dec!(10))], true),
            )],
            &[(1, dec!(40.00))],
            &[("T", dec!(40.00))],
        ),
        case(
            "每满100减10, at most 30",
            vec![rice(1, 7)],
            vec![rule(
                "T",
                1,
                Benefit::SpendThreshold {
                    scope: Scope::Order,
                    tiers: vec![Tier {
                        spend: dec!(100),
                        off: dec!(10),
                    }],
                    repeat: true,
                    max_off: Some(dec!(30)),
                },
            )],
            &[(1, dec!(30.00))],
            &[("T", dec!(30.00))],
        ),
        case(
            "category threshold counts only the category, weighed lines included",
            vec![
                apple(1, dec!(2)),
                kg(2, "PEAR", "fruit", dec!(1), dec!(9.40)),
                rice(3, 1),
            ],
            // fruit: 25.60 + 9.40 = 35.00 ≥ 30 -> 5 off: 25.60/35 -> 3.66, 9.40/35 -> 1.34
            vec![rule(
                "T",
                1,
                threshold(cats(&["fruit"]), &[(dec!(30), dec!(5))], false),
            )],
            &[(1, dec!(3.66)), (2, dec!(1.34))],
            &[("T", dec!(5.00))],
        ),
    ]);
}

#[test]
fn stores_and_time_windows() {
    let r = |w: Conditions| vec![when(rule("W", 1, pct_off(Scope::Order, dec!(10))), w)];
    let hours = |f: &str, t: &str| HourRange {
        from: f.parse().unwrap(),
        to: t.parse().unwrap(),
    };
    let mut cases = vec![
        case(
            "other store",
            vec![rice(1, 1)],
            r(Conditions {
                stores: vec!["SH01".into()],
                ..Default::default()
            }),
            &[],
            &[],
        ),
        case(
            "listed store",
            vec![rice(1, 1)],
            r(Conditions {
                stores: vec!["SH01".into(), "HZ01".into()],
                ..Default::default()
            }),
            &[(1, dec!(5.99))],
            &[("W", dec!(5.99))],
        ),
        case(
            "weekends only, on a Wednesday",
            vec![rice(1, 1)],
            r(Conditions {
                days: vec![6, 7],
                ..Default::default()
            }),
            &[],
            &[],
        ),
        case(
            "Wednesdays",
            vec![rice(1, 1)],
            r(Conditions {
                days: vec![3],
                ..Default::default()
            }),
            &[(1, dec!(5.99))],
            &[("W", dec!(5.99))],
        ),
        case(
            "morning hours at noon",
            vec![rice(1, 1)],
            r(Conditions {
                hours: vec![hours("08:00", "12:00")],
                ..Default::default()
            }),
            &[],
            &[],
        ),
        case(
            "lunch hours at noon",
            vec![rice(1, 1)],
            r(Conditions {
                hours: vec![hours("08:00", "10:00"), hours("12:00", "13:30")],
                ..Default::default()
            }),
            &[(1, dec!(5.99))],
            &[("W", dec!(5.99))],
        ),
        case(
            "ended the day before",
            vec![rice(1, 1)],
            r(Conditions {
                from: NaiveDate::from_ymd_opt(2025, 6, 1),
                until: NaiveDate::from_ymd_opt(2025, 6, 10),
                ..Default::default()
            }),
            &[],
            &[],
        ),
        case(
            "last day included",
            vec![rice(1, 1)],
            r(Conditions {
                from: NaiveDate::from_ymd_opt(2025, 6, 1),
                until: NaiveDate::from_ymd_opt(2025, 6, 11),
                ..Default::default()
            }),
            &[(1, dec!(5.99))],
            &[("W", dec!(5.99))],
        ),
    ];
    let night = || {
        r(Conditions {
            hours: vec![hours("22:00", "02:00")],
            ..Default::default()
        })
    };
    let mut late = case(
        "night window past midnight, at 01:00",
        vec![rice(1, 1)],
        night(),
        &[(1, dec!(5.99))],
        &[("W", dec!(5.99))],
    );
    late.ctx = ctx_at(at(2025, 6, 12, 1, 0));
    cases.push(late);
    let mut early = case(
        "night window, at 02:00 (end excluded)",
        vec![rice(1, 1)],
        night(),
        &[],
        &[],
    );
    early.ctx = ctx_at(at(2025, 6, 12, 2, 0));
    cases.push(early);
    run_cases(cases);
}

// ---------------------------------------------------------------------------------------------
// Stacking, exclusivity, best choice
// ---------------------------------------------------------------------------------------------

#[test]
fn stacking_exclusivity_and_best_choice() {
    let b2g1 = || rule("B2G1", 10, bxgy(skus(&["COLA"]), 2, 1, dec!(100)));
    run_cases(vec![
        case(
            "stackable rules in priority order, 满减 on what the percentage left",
            vec![cola(1, 4), chips(2, 1)],
            vec![
                rule(
                    "T",
                    1,
                    threshold(Scope::Order, &[(dec!(20), dec!(5))], false),
                ),
                rule("P", 10, pct_off(skus(&["COLA"]), dec!(10))),
            ],
            // 10 % of 14.00 = 1.40; 21.40 ≥ 20: 5.00 over 8.80 / 12.60
            &[(1, dec!(4.34)), (2, dec!(2.06))],
            &[("P", dec!(1.40)), ("T", dec!(5.00))],
        ),
        case(
            "the percentage first brings the order below the threshold",
            vec![cola(1, 4), chips(2, 1)],
            vec![
                rule(
                    "T",
                    1,
                    threshold(Scope::Order, &[(dec!(22), dec!(5))], false),
                ),
                rule("P", 10, pct_off(skus(&["COLA"]), dec!(10))),
            ],
            &[(1, dec!(1.40))],
            &[("P", dec!(1.40))],
        ),
        case(
            "with the threshold first both apply",
            vec![cola(1, 4), chips(2, 1)],
            vec![
                rule(
                    "T",
                    20,
                    threshold(Scope::Order, &[(dec!(22), dec!(5))], false),
                ),
                rule("P", 10, pct_off(skus(&["COLA"]), dec!(10))),
            ],
            // 5.00 over 8.80 / 14.00 -> 1.93 / 3.07; 10 % of 10.93 = 1.09
            &[(1, dec!(4.16)), (2, dec!(1.93))],
            &[("T", dec!(5.00)), ("P", dec!(1.09))],
        ),
        case(
            "exclusive buy-2-get-1 beats 20 % off on three colas",
            vec![cola(1, 3)],
            vec![
                exclusive(b2g1()),
                rule("P20", 5, pct_off(skus(&["COLA"]), dec!(20))),
            ],
            &[(1, dec!(3.50))],
            &[("B2G1", dec!(3.50))],
        ),
        case(
            "four colas: the set is exclusive, the fourth takes 20 % off",
            vec![cola(1, 4)],
            vec![
                exclusive(b2g1()),
                rule("P20", 5, pct_off(skus(&["COLA"]), dec!(20))),
            ],
            &[(1, dec!(4.20))],
            &[("B2G1", dec!(3.50)), ("P20", dec!(0.70))],
        ),
        case(
            "40 % off beats the exclusive buy-2-get-1: it is left out",
            vec![cola(1, 3)],
            vec![
                exclusive(b2g1()),
                rule("P40", 5, pct_off(skus(&["COLA"]), dec!(40))),
            ],
            &[(1, dec!(4.20))],
            &[("P40", dec!(4.20))],
        ),
        case(
            "both stackable: buy-2-get-1 then 20 % off the rest",
            vec![cola(1, 3)],
            vec![b2g1(), rule("P20", 5, pct_off(skus(&["COLA"]), dec!(20)))],
            // 10.50 - 3.50 = 7.00; 20 % = 1.40
            &[(1, dec!(4.90))],
            &[("B2G1", dec!(3.50)), ("P20", dec!(1.40))],
        ),
        case(
            "a group: buy-2-get-1 or 20 % off per item, and 满减 stacks on top",
            vec![cola(1, 3), chips(2, 1)],
            vec![
                grouped(b2g1(), "item"),
                grouped(rule("P20", 5, pct_off(cats(&["drinks"]), dec!(20))), "item"),
                rule(
                    "T",
                    1,
                    threshold(Scope::Order, &[(dec!(15), dec!(2))], false),
                ),
            ],
            // B2G1 3.50; 15.80 left ≥ 15: 2.00 over 8.80 / 7.00
            &[(1, dec!(4.39)), (2, dec!(1.11))],
            &[("B2G1", dec!(3.50)), ("T", dec!(2.00))],
        ),
        case(
            "exclusive lines leave the 满减 base: 20 % + 满减 (4.10) beats buy-2-get-1 alone (3.50)",
            vec![cola(1, 3), chips(2, 1)],
            vec![
                exclusive(b2g1()),
                rule("P20", 5, pct_off(cats(&["drinks"]), dec!(20))),
                rule(
                    "T",
                    1,
                    threshold(Scope::Order, &[(dec!(15), dec!(2))], false),
                ),
            ],
            &[(1, dec!(3.08)), (2, dec!(1.02))],
            &[("P20", dec!(2.10)), ("T", dec!(2.00))],
        ),
        case(
            "exclusive order discount wins: nothing else on the order",
            vec![chips(1, 1), rice(2, 1)],
            vec![
                exclusive(rule("O10", 1, pct_off(Scope::Order, dec!(10)))),
                rule("F", 10, fixed("CHIPS", dec!(6.80))),
            ],
            // 10 % of 68.70 = 6.87 > 2.00
            &[(1, dec!(0.88)), (2, dec!(5.99))],
            &[("O10", dec!(6.87))],
        ),
        case(
            "exclusive order discount loses to the item price",
            vec![chips(1, 1)],
            vec![
                exclusive(rule("O10", 1, pct_off(Scope::Order, dec!(10)))),
                rule("F", 10, fixed("CHIPS", dec!(6.80))),
            ],
            &[(1, dec!(2.00))],
            &[("F", dec!(2.00))],
        ),
        case(
            "exclusive order discount against an exclusive item rule",
            vec![chips(1, 1), rice(2, 1)],
            vec![
                exclusive(rule("O10", 1, pct_off(Scope::Order, dec!(10)))),
                exclusive(rule("F", 10, fixed("CHIPS", dec!(1.80)))),
            ],
            // F 7.00 alone (O10 cannot join) beats O10 alone 6.87
            &[(1, dec!(7.00))],
            &[("F", dec!(7.00))],
        ),
        case(
            "the best subset of three exclusive rules is two of them",
            vec![cola(1, 3), chips(2, 1)],
            vec![
                exclusive(rule("X", 9, amount_off(skus(&["COLA"]), dec!(1), false))),
                exclusive(rule("Y", 5, bxgy(skus(&["COLA"]), 2, 1, dec!(100)))),
                exclusive(rule("Z", 1, fixed("CHIPS", dec!(6.80)))),
            ],
            // {X, Y, Z}: X takes the colas (1.00) + Z 2.00 = 3.00; {Y, Z} = 3.50 + 2.00
            &[(1, dec!(3.50)), (2, dec!(2.00))],
            &[("Y", dec!(3.50)), ("Z", dec!(2.00))],
        ),
        case(
            "equal totals: the higher priority wins",
            vec![cola(1, 3)],
            vec![
                exclusive(rule("LOW", 5, pct_off(skus(&["COLA"]), dec!(10)))),
                exclusive(rule(
                    "HIGH",
                    9,
                    amount_off(skus(&["COLA"]), dec!(1.05), false),
                )),
            ],
            &[(1, dec!(1.05))],
            &[("HIGH", dec!(1.05))],
        ),
        case(
            "member price and promotion price compete in a group: the lower price wins",
            vec![chips(1, 2)],
            vec![
                grouped(rule("PROMO", 5, fixed("CHIPS", dec!(7.80))), "price"),
                grouped(rule("MEMBER", 9, fixed("CHIPS", dec!(7.50))), "price"),
            ],
            &[(1, dec!(2.60))],
            &[("MEMBER", dec!(2.60))],
        ),
    ]);
}

#[test]
fn many_competing_rules_use_the_bounded_greedy_search() {
    // 12 exclusive rules on 12 different SKUs (more than MAX_EXHAUSTIVE): all apply.
    let lines: Vec<PromoLine> = (0..12)
        .map(|i| line(i + 1, &format!("S{i:02}"), "misc", 1, dec!(10.00)))
        .collect();
    let rules: Vec<Rule> = (0..12)
        .map(|i| {
            exclusive(rule(
                &format!("R{i:02}"),
                i,
                pct_off(skus(&[&format!("S{i:02}")]), Decimal::from(i + 1)),
            ))
        })
        .collect();
    assert!(rules.len() > MAX_EXHAUSTIVE);
    let r = evaluate(&lines, &ctx(), &rules);
    check_invariants(&lines, &r).unwrap();
    // Σ (i+1) % of 10.00 for i in 0..12 = 78 % of 10.00
    assert_eq!(r.total, dec!(7.80));
    assert_eq!(r.applications.len(), 12);
    // plus a 13th rule that competes for every SKU and beats each of them on its own
    let mut more = rules.clone();
    more.push(exclusive(rule("ALL", 0, pct_off(cats(&["misc"]), dec!(7)))));
    let r = evaluate(&lines, &ctx(), &more);
    check_invariants(&lines, &r).unwrap();
    // Greedy: ALL alone (8.40) first; then each R_i worth more than 7 % takes its SKU back
    // (exclusive rules run in priority order, so R11..R7 before ALL): R7..R11 give
    // 8+9+10+11+12 % of 10.00 = 5.00 and ALL 7 % of the other seven = 4.90.
    assert_eq!(r.total, dec!(9.90));
    let ids: Vec<&str> = r.applications.iter().map(|a| a.rule_id.as_str()).collect();
    assert_eq!(ids, ["R11", "R10", "R09", "R08", "R07", "ALL"]);
    assert_eq!(r.applications[5].total, dec!(4.90));
}

#[test]
fn scan_order_does_not_matter() {
    let lines = vec![cola(1, 2), juice(2, 1), tea(3, 1), cola(4, 1), chips(5, 3)];
    let rules = vec![
        rule("B", 10, bxgy(cats(&["drinks"]), 2, 1, dec!(100))),
        rule(
            "T",
            1,
            threshold(Scope::Order, &[(dec!(30), dec!(3))], false),
        ),
    ];
    let base = evaluate(&lines, &ctx(), &rules);
    check_invariants(&lines, &base).unwrap();
    let by_id = |r: &PromoResult| -> BTreeMap<u32, Decimal> {
        r.lines.iter().map(|l| (l.line_id, l.amount)).collect()
    };
    let mut reversed = lines.clone();
    reversed.reverse();
    let r = evaluate(&reversed, &ctx(), &rules);
    assert_eq!(by_id(&r), by_id(&base));
    assert_eq!(r.applications, base.applications);
    // The two cola lines (1: two units, 4: one) are treated the same whichever came first:
    // the free cola's 3.50 is spread over juice, tea and the first cola unit.
    assert_eq!(base.applications[0].total, dec!(3.50));
}

#[test]
fn invalid_rules_are_skipped_and_reported() {
    let rules = vec![
        rule("BAD", 1, pct_off(Scope::Order, dec!(120))),
        rule("EMPTY", 1, pct_off(Scope::Skus(vec![]), dec!(10))),
        rule("ZERO", 1, bxgy(Scope::Order, 0, 1, dec!(100))),
        rule("OK", 1, pct_off(Scope::Order, dec!(10))),
    ];
    let r = evaluate(&[rice(1, 1)], &ctx(), &rules);
    assert_eq!(r.total, dec!(5.99));
    assert_eq!(r.invalid_rules, vec!["BAD", "EMPTY", "ZERO"]);
    assert_eq!(rules[0].validate(), Err(RuleError::Percent("BAD".into())));
    let mut days = rule("D", 1, pct_off(Scope::Order, dec!(10)));
    days.when.days = vec![0];
    assert_eq!(days.validate(), Err(RuleError::Day("D".into())));
}

#[test]
fn nothing_to_do() {
    let r = evaluate(
        &[],
        &ctx(),
        &[rule("P", 1, pct_off(Scope::Order, dec!(10)))],
    );
    assert_eq!(r, PromoResult::default());
    let r = evaluate(&[rice(1, 1)], &ctx(), &[]);
    assert_eq!(r.total, dec!(0.00));
    assert_eq!(
        r.lines,
        vec![LineAmount {
            line_id: 1,
            amount: dec!(0.00)
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------

#[test]
fn rules_read_from_hq_json() {
    let json = r#"[
      {
        "id": "P-2025-0042",
        "name": "饮料买二送一",
        "name_en": "Drinks: buy 2 get 1 free",
        "priority": 100,
        "group": "item",
        "when": {
          "stores": ["HZ01", "HZ02"],
          "from": "2025-06-01", "until": "2025-06-30",
          "days": [3, 6, 7],
          "hours": [{ "from": "08:00", "to": "13:00" }, { "from": "22:00", "to": "02:00" }]
        },
        "benefit": { "kind": "buy_x_get_y", "scope": { "categories": ["drinks"] },
                     "buy": 2, "get": 1, "reward": "cheapest", "percent": "100" }
      },
      { "id": "T1", "name": "满200减20", "priority": 1,
        "benefit": { "kind": "spend_threshold", "scope": "order",
                     "tiers": [{ "spend": "200", "off": "20" }, { "spend": "400", "off": "50" }] } },
      { "id": "M1", "name": "会员价", "exclusive": true,
        "benefit": { "kind": "member_price", "items": [{ "sku": "CHIPS", "price": "7.50" }] } },
      { "id": "X1", "name": "三件十元",
        "benefit": { "kind": "multi_buy", "scope": { "skus": ["COLA"] }, "qty": 3, "price": "10.00" } },
      { "id": "A1", "name": "立减", "when": { "members_only": true, "tiers": ["gold"] },
        "benefit": { "kind": "amount_off", "scope": "order", "amount": "5", "per_item": false } },
      { "id": "F1", "name": "特价",
        "benefit": { "kind": "fixed_price", "items": [{ "sku": "TEA", "price": "3.20" }] } },
      { "id": "P1", "name": "九折",
        "benefit": { "kind": "percent_off", "scope": "order", "percent": "10", "min_spend": "50" } }
    ]"#;
    let rules: Vec<Rule> = serde_json::from_str(json).unwrap();
    assert_eq!(rules.len(), 7);
    assert!(rules.iter().all(|r| r.validate().is_ok()));
    assert_eq!(rules[0].benefit.kind(), PromoKind::BuyXGetY);
    assert_eq!(rules[0].when.hours[1].from, "22:00".parse().unwrap());
    assert_eq!(rules[0].group.as_deref(), Some("item"));
    assert_eq!(rules[1].benefit.kind(), PromoKind::SpendThreshold);
    assert!(rules[2].exclusive);
    // Round trip.
    let back: Vec<Rule> = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
    assert_eq!(back, rules);
    // Amounts serialize as strings; the kind tag is there.
    let v = serde_json::to_value(&rules[3]).unwrap();
    assert_eq!(v["benefit"]["kind"], "multi_buy");
    assert_eq!(v["benefit"]["price"], "10.00");
    // The drinks rule applies on a Wednesday noon at HZ01.
    let r = evaluate(&[cola(1, 3)], &ctx(), &rules[..1]);
    assert_eq!(r.total, dec!(3.50));
    let app = serde_json::to_value(&r.applications[0]).unwrap();
    assert_eq!(app["rule_name"], "饮料买二送一");
    assert_eq!(app["kind"], "buy_x_get_y");
    assert_eq!(app["lines"][0]["line_id"], 1);
    assert_eq!(app["lines"][0]["amount"], "3.50");
    // Unknown kinds are refused.
    let bad = r#"{ "id": "Z", "name": "z", "benefit": { "kind": "lottery" } }"#;
    assert!(serde_json::from_str::<Rule>(bad).is_err());
}

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

const SKUS: [(&str, &str, bool); 5] = [
    ("A", "drinks", false),
    ("B", "drinks", false),
    ("C", "snacks", false),
    ("D", "fruit", true),
    ("E", "snacks", false),
];

fn fen(f: i64) -> Decimal {
    Decimal::new(f, 2)
}

fn gen_line() -> impl Strategy<Value = PromoLine> {
    (
        0usize..SKUS.len(),
        1i64..=6,
        1i64..=3_000,
        // few distinct prices so that equal items (ties) are common
        prop_oneof![
            3 => prop::sample::select(vec![100i64, 333, 350, 999]),
            1 => 1i64..3_000,
            1 => 1i64..50_000,
        ],
        prop_oneof![3 => Just(0i64), 1 => 0i64..=100],
    )
        .prop_map(|(s, qty, grams, price, manual_pct)| {
            let (sku, cat, weighed) = SKUS[s];
            let (unit, qty) = if weighed {
                (Unit::Kg, Decimal::new(grams, 3))
            } else {
                (Unit::Piece, Decimal::from(qty))
            };
            let price = fen(price);
            let gross = (price * qty).round_dp(2);
            // 0..100 % manual discount, in fen
            let amount = (gross * Decimal::from(100 - manual_pct) / dec!(100)).round_dp(2);
            PromoLine {
                line_id: 0,
                sku: sku.into(),
                category: cat.into(),
                unit,
                qty,
                unit_price: price,
                amount,
            }
        })
}

fn gen_lines() -> impl Strategy<Value = Vec<PromoLine>> {
    prop::collection::vec(gen_line(), 0..7).prop_map(|mut ls| {
        for (i, l) in ls.iter_mut().enumerate() {
            l.line_id = i as u32 + 1;
        }
        ls
    })
}

fn gen_scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Order),
        (0usize..SKUS.len()).prop_map(|s| Scope::Skus(vec![SKUS[s].0.into()])),
        (0usize..SKUS.len(), 0usize..SKUS.len())
            .prop_map(|(a, b)| Scope::Skus(vec![SKUS[a].0.into(), SKUS[b].0.into()])),
        prop_oneof![Just("drinks"), Just("snacks"), Just("fruit")]
            .prop_map(|c| Scope::Categories(vec![c.into()])),
    ]
}

fn gen_benefit() -> impl Strategy<Value = Benefit> {
    let pct = prop_oneof![
        (1i64..=100).prop_map(Decimal::from),
        (1i64..=10_000).prop_map(fen)
    ];
    let money = || (1i64..20_000).prop_map(fen);
    prop_oneof![
        (gen_scope(), pct.clone(), prop::option::of(money())).prop_map(|(scope, percent, m)| {
            Benefit::PercentOff {
                scope,
                percent,
                min_spend: m,
            }
        }),
        (gen_scope(), money(), any::<bool>()).prop_map(|(scope, amount, per_item)| {
            Benefit::AmountOff {
                scope,
                amount,
                per_item,
            }
        }),
        (0usize..SKUS.len(), 0i64..20_000, any::<bool>()).prop_map(|(s, p, member)| {
            let items = vec![SkuPrice {
                sku: SKUS[s].0.into(),
                price: fen(p),
            }];
            if member {
                Benefit::MemberPrice { items }
            } else {
                Benefit::FixedPrice { items }
            }
        }),
        (
            gen_scope(),
            1u32..=3,
            1u32..=2,
            prop::option::of(prop::collection::vec(0usize..SKUS.len(), 1..3)),
            pct,
            prop::option::of(1u32..=2),
        )
            .prop_map(
                |(scope, buy, get, reward, percent, max_sets)| Benefit::BuyXGetY {
                    scope,
                    buy,
                    get,
                    reward: reward.map_or(Reward::Cheapest, |r| {
                        Reward::Skus(r.into_iter().map(|s| SKUS[s].0.to_string()).collect())
                    }),
                    percent,
                    max_sets,
                }
            ),
        (gen_scope(), 1u32..=4, money(), prop::option::of(1u32..=2)).prop_map(
            |(scope, qty, price, max_sets)| Benefit::MultiBuy {
                scope,
                qty,
                price,
                max_sets,
            }
        ),
        (
            gen_scope(),
            prop::collection::vec((money(), money()), 1..4),
            any::<bool>(),
            prop::option::of(money()),
        )
            .prop_map(|(scope, tiers, repeat, max_off)| Benefit::SpendThreshold {
                scope,
                tiers: tiers
                    .into_iter()
                    .map(|(spend, off)| Tier { spend, off })
                    .collect(),
                repeat,
                max_off,
            }),
    ]
}

fn gen_rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (
            gen_benefit(),
            0i32..4,
            any::<bool>(),
            prop_oneof![Just(None), Just(Some("g1")), Just(Some("g2"))],
            prop::bool::weighted(0.2),
        ),
        0..7,
    )
    .prop_map(|rs| {
        rs.into_iter()
            .enumerate()
            .map(|(i, (benefit, priority, excl, group, members_only))| Rule {
                id: format!("R{i}"),
                name: format!("规则{i}"),
                name_en: format!("Rule {i}"),
                priority,
                exclusive: excl && i % 2 == 0,
                group: group.map(str::to_string),
                when: Conditions {
                    members_only,
                    ..Default::default()
                },
                benefit,
            })
            .collect()
    })
}

/// 11..15 rules, mostly competing: more than the exhaustive search takes.
fn gen_many_rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec((gen_benefit(), 0i32..4, any::<bool>()), 11..15).prop_map(|rs| {
        rs.into_iter()
            .enumerate()
            .map(|(i, (benefit, priority, excl))| Rule {
                id: format!("R{i:02}"),
                name: format!("规则{i}"),
                name_en: String::new(),
                priority,
                exclusive: excl,
                group: (!excl).then(|| "g".to_string()),
                when: Conditions::default(),
                benefit,
            })
            .collect()
    })
}

fn gen_ctx() -> impl Strategy<Value = PromoContext> {
    (any::<bool>(), any::<bool>()).prop_map(|(member, half_even)| PromoContext {
        member: member.then(|| PromoMember {
            member_id: "M".into(),
            tier: "gold".into(),
        }),
        rounding: if half_even {
            RoundingMode::HalfEven
        } else {
            RoundingMode::HalfUp
        },
        ..ctx()
    })
}

fn by_line_id(r: &PromoResult) -> BTreeMap<u32, Decimal> {
    r.lines.iter().map(|l| (l.line_id, l.amount)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Discounts stay within each line's amount and reconcile to the fen.
    #[test]
    fn discounts_are_capped_and_reconcile(
        lines in gen_lines(), rules in gen_rules(), ctx in gen_ctx()
    ) {
        let r = evaluate(&lines, &ctx, &rules);
        if let Err(e) = check_invariants(&lines, &r) {
            prop_assert!(false, "{}", e);
        }
        let all: Decimal = lines.iter().map(|l| l.amount).sum();
        prop_assert!(r.total <= all);
    }

    /// The same result whatever order the lines were scanned in (and the rules listed in),
    /// and the same result every time.
    #[test]
    fn order_independent_and_deterministic(
        (lines, shuffled) in gen_lines().prop_flat_map(|ls| (Just(ls.clone()), Just(ls).prop_shuffle())),
        (rules, shuffled_rules) in gen_rules().prop_flat_map(|rs| (Just(rs.clone()), Just(rs).prop_shuffle())),
        ctx in gen_ctx(),
    ) {
        let a = evaluate(&lines, &ctx, &rules);
        let again = evaluate(&lines, &ctx, &rules);
        prop_assert_eq!(&a, &again);
        let b = evaluate(&shuffled, &ctx, &shuffled_rules);
        prop_assert_eq!(by_line_id(&a), by_line_id(&b));
        prop_assert_eq!(&a.applications, &b.applications);
        prop_assert_eq!(a.total, b.total);
        // each input line keeps its own id in the output
        let ids: Vec<u32> = shuffled.iter().map(|l| l.line_id).collect();
        let out: Vec<u32> = b.lines.iter().map(|l| l.line_id).collect();
        prop_assert_eq!(ids, out);
    }

    /// The search never does worse than the stackable rules alone.
    #[test]
    fn best_choice_is_at_least_the_stackable_rules(
        lines in gen_lines(), rules in gen_rules(), ctx in gen_ctx()
    ) {
        let all = evaluate(&lines, &ctx, &rules);
        let stackable: Vec<Rule> = rules
            .iter()
            .filter(|r| !r.exclusive && r.group.is_none())
            .cloned()
            .collect();
        let base = evaluate(&lines, &ctx, &stackable);
        prop_assert!(all.total >= base.total, "{} < {}", all.total, base.total);
        // ... and not worse than any one competing rule on top of them
        for c in rules.iter().filter(|r| r.exclusive || r.group.is_some()) {
            let mut one = stackable.clone();
            one.push(c.clone());
            let with_one = evaluate(&lines, &ctx, &one);
            prop_assert!(all.total >= with_one.total, "{}: {} < {}", c.id, all.total, with_one.total);
        }
    }
}

#[test]
fn large_quantities_stay_fast() {
    // 9999 colas + 10 competing rules: over the work budget, so the greedy search runs.
    let lines = vec![cola(1, 9999), chips(2, 500), rice(3, 3)];
    let mut rules: Vec<Rule> = (0..10)
        .map(|i| {
            grouped(
                rule(
                    &format!("G{i}"),
                    i,
                    pct_off(skus(&["COLA"]), Decimal::from(i + 1)),
                ),
                "item",
            )
        })
        .collect();
    rules.push(rule(
        "B",
        20,
        bxgy(skus(&["COLA", "CHIPS"]), 2, 1, dec!(100)),
    ));
    rules.push(rule(
        "T",
        0,
        threshold(Scope::Order, &[(dec!(100), dec!(10))], true),
    ));
    let r = evaluate(&lines, &ctx(), &rules);
    check_invariants(&lines, &r).unwrap();
    // The 10 % rule (G9) wins the group; the others find the colas taken.
    assert!(r.applications.iter().any(|a| a.rule_id == "G9"));
    assert!(!r.applications.iter().any(|a| a.rule_id == "G0"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The greedy search (more than MAX_EXHAUSTIVE competing rules) keeps every invariant.
    #[test]
    fn greedy_search_keeps_the_invariants(
        (lines, shuffled) in gen_lines().prop_flat_map(|ls| (Just(ls.clone()), Just(ls).prop_shuffle())),
        rules in gen_many_rules(),
    ) {
        let a = evaluate(&lines, &ctx(), &rules);
        if let Err(e) = check_invariants(&lines, &a) {
            prop_assert!(false, "{}", e);
        }
        let b = evaluate(&shuffled, &ctx(), &rules);
        prop_assert_eq!(by_line_id(&a), by_line_id(&b));
        prop_assert_eq!(&a.applications, &b.applications);
        // never worse than any single competing rule alone
        for c in &rules {
            let one = evaluate(&lines, &ctx(), std::slice::from_ref(c));
            prop_assert!(a.total >= one.total, "{}: {} < {}", c.id, a.total, one.total);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Wiring into a cart
// ---------------------------------------------------------------------------------------------

#[test]
fn promotions_priced_as_line_discounts_before_the_order_discount() {
    use tillstone_core::cart::Cart;
    use tillstone_core::catalog::Product;
    use tillstone_core::pricing::{Discount, DiscountValue, price};
    use tillstone_core::settings::StoreSettings;

    let settings = StoreSettings::new("HZ01", "西湖店");
    let product = |sku: &str, cat: &str, p: Decimal| Product {
        sku: sku.into(),
        name: sku.into(),
        name_en: sku.into(),
        barcodes: vec![],
        category: cat.into(),
        tax_class: "VAT13".into(),
        tax_rate: dec!(0.13),
        unit: Unit::Piece,
        price: p,
    };
    let mut cart = Cart::new("c1");
    let cola_id = cart
        .add_product(&product("COLA", "drinks", dec!(3.50)), dec!(3), None)
        .unwrap();
    let chips_id = cart
        .add_product(&product("CHIPS", "snacks", dec!(8.80)), dec!(2), None)
        .unwrap();
    // a manual 10 % off the chips (17.60 -> 15.84)
    let manual: Discount = serde_json::from_value(serde_json::json!({
        "value": { "type": "percent", "value": "10" }, "reason": "damaged box"
    }))
    .unwrap();
    cart.lines[1].discount = Some(manual);

    let promo_lines = PromoLine::from_cart(&cart, &settings);
    assert_eq!(promo_lines[0].amount, dec!(10.50));
    assert_eq!(promo_lines[1].amount, dec!(15.84));
    let rules = vec![
        rule("B2G1", 10, bxgy(skus(&["COLA"]), 2, 1, dec!(100))),
        rule(
            "T",
            1,
            threshold(Scope::Order, &[(dec!(20), dec!(2))], false),
        ),
    ];
    let promo_ctx = PromoContext::new(&settings, at(2025, 6, 11, 12, 0), None);
    let r = evaluate(&promo_lines, &promo_ctx, &rules);
    // B2G1 3.50 on cola; 7.00 + 15.84 = 22.84 ≥ 20: 2.00 over 7.00 / 15.84 -> 0.61 / 1.39
    assert_eq!(r.discount_for(cola_id), dec!(4.11));
    assert_eq!(r.discount_for(chips_id), dec!(1.39));
    assert_eq!(r.total, dec!(5.50));

    let inputs = line_inputs_with_promotions(&cart, &r, &settings);
    assert_eq!(inputs[0].discount, Some(DiscountValue::Amount(dec!(4.11))));
    assert_eq!(inputs[1].discount, Some(DiscountValue::Amount(dec!(3.15))));
    // an order discount of 10 % comes after the promotions: 10 % of 28.10 - 7.26 = 20.84
    let priced = price(&inputs, Some(&DiscountValue::Percent(dec!(10))), &settings);
    assert_eq!(priced.totals.subtotal, dec!(28.10));
    assert_eq!(priced.totals.line_discounts, dec!(7.26)); // 1.76 manual + 5.50 promotions
    assert_eq!(priced.totals.order_discount, dec!(2.08)); // 10 % of 20.84
    assert_eq!(priced.totals.total, dec!(18.76));
}
