//! From a committed sale to the printer's layout model ([`ReceiptDoc`]), in Chinese or English.

use crate::app::Receipt;
use chrono::FixedOffset;
use rust_decimal::Decimal;
use tillstone_core::catalog::Unit;
use tillstone_core::sale::SaleKind;
use tillstone_core::settings::StoreSettings;
use tillstone_core::tender::TenderKind;
use tillstone_devices::receipt::{
    AmountLine, ColumnLabels, ItemNote, ItemRow, LabelValue, QrBlock, ReceiptDoc, TaxRow, TotalRow,
};

pub use tillstone_core::settings::Language as Lang;

struct Words {
    sale: &'static str,
    ret: &'static str,
    receipt_no: &'static str,
    original: &'static str,
    cashier: &'static str,
    time: &'static str,
    subtotal: &'static str,
    line_discounts: &'static str,
    promotions: &'static str,
    order_discount: &'static str,
    rounding: &'static str,
    total: &'static str,
    refund_total: &'static str,
    tax_included: &'static str,
    change: &'static str,
    price_changed: &'static str,
    member: &'static str,
    points_now: &'static str,
    points_balance: &'static str,
    footer: [&'static str; 2],
    qr_caption: &'static str,
}

const ZH: Words = Words {
    sale: "销售小票",
    ret: "退货单",
    receipt_no: "单号",
    original: "原单号",
    cashier: "收银员",
    time: "时间",
    subtotal: "小计",
    line_discounts: "单品折扣",
    promotions: "促销及优惠券",
    order_discount: "整单折扣",
    rounding: "抹零",
    total: "合计",
    refund_total: "退款合计",
    tax_included: "其中税额",
    change: "找零",
    price_changed: "改价",
    member: "会员",
    points_now: "本次积分",
    points_balance: "积分余额",
    footer: ["凭小票 7 日内可退换", "谢谢惠顾，欢迎再次光临"],
    qr_caption: "扫码查看电子小票",
};

const EN: Words = Words {
    sale: "SALES RECEIPT",
    ret: "RETURN",
    receipt_no: "Receipt",
    original: "Original",
    cashier: "Cashier",
    time: "Time",
    subtotal: "Subtotal",
    line_discounts: "Item discounts",
    promotions: "Promotions & coupons",
    order_discount: "Order discount",
    rounding: "Rounding",
    total: "TOTAL",
    refund_total: "REFUND",
    tax_included: "Tax included",
    change: "Change",
    price_changed: "Price changed",
    member: "Member",
    points_now: "Points this visit",
    points_balance: "Points balance",
    footer: [
        "Returns within 7 days with this receipt",
        "Thank you for shopping with us",
    ],
    qr_caption: "Scan for your e-receipt",
};

/// A tender's name as receipts and reports print it.
pub(crate) fn tender_label(kind: TenderKind, lang: Lang) -> &'static str {
    match (kind, lang) {
        (TenderKind::Cash, Lang::Zh) => "现金",
        (TenderKind::Card, Lang::Zh) => "银行卡",
        (TenderKind::Alipay, Lang::Zh) => "支付宝",
        (TenderKind::WechatPay, Lang::Zh) => "微信支付",
        (TenderKind::Points, Lang::Zh) => "积分抵现",
        (TenderKind::Cash, Lang::En) => "Cash",
        (TenderKind::Card, Lang::En) => "Card",
        (TenderKind::Alipay, Lang::En) => "Alipay",
        (TenderKind::WechatPay, Lang::En) => "WeChat Pay",
        (TenderKind::Points, Lang::En) => "Points",
    }
}

/// The printable receipt of a committed sale or return.
pub fn receipt_doc(r: &Receipt, settings: &StoreSettings, lang: Lang) -> ReceiptDoc {
    let w = match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    };
    let sale = &r.sale;
    let mut header = vec![];
    match lang {
        Lang::Zh => {
            header.push(r.header.store_name.clone());
            header.push(r.header.store_name_en.clone());
        }
        Lang::En => {
            header.push(if r.header.store_name_en.is_empty() {
                r.header.store_name.clone()
            } else {
                r.header.store_name_en.clone()
            });
        }
    }
    header.push(r.header.address.clone());
    if !r.header.tax_id.is_empty() {
        header.push(match lang {
            Lang::Zh => format!("税号 {}", r.header.tax_id),
            Lang::En => format!("Tax ID {}", r.header.tax_id),
        });
    }
    header.retain(|h| !h.is_empty());

    let offset = FixedOffset::east_opt(settings.utc_offset_minutes * 60)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"));
    let mut meta = vec![
        LabelValue::new(w.receipt_no, sale.ctx.receipt_no.clone()),
        LabelValue::new(w.cashier, r.cashier_name.clone()),
        LabelValue::new(
            w.time,
            sale.ctx
                .completed_at
                .with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
    ];
    if let Some(o) = &sale.original {
        meta.push(LabelValue::new(w.original, o.receipt_no.clone()));
    }

    let items = sale
        .lines
        .iter()
        .map(|l| {
            let mut notes = Vec::new();
            if let Some(o) = &l.line.price_override {
                notes.push(ItemNote {
                    text: format!(
                        "{} {} → {} ({})",
                        w.price_changed, l.line.list_price, o.price, o.reason
                    ),
                    amount: None,
                });
            }
            let manual = l.amounts.line_discount - l.promo_discount;
            if let Some(d) = &l.line.discount
                && !manual.is_zero()
            {
                notes.push(ItemNote {
                    text: d.reason.clone(),
                    amount: Some(-manual),
                });
            }
            for c in &sale.coupons {
                for share in c.lines.iter().filter(|x| x.line_id == l.line.line_id) {
                    notes.push(ItemNote {
                        text: match lang {
                            Lang::En if !c.name_en.is_empty() => c.name_en.clone(),
                            _ => c.name.clone(),
                        },
                        amount: Some(-share.amount),
                    });
                }
            }
            for p in &sale.promotions {
                for share in p.lines.iter().filter(|x| x.line_id == l.line.line_id) {
                    notes.push(ItemNote {
                        text: match lang {
                            Lang::En if !p.rule_name_en.is_empty() => p.rule_name_en.clone(),
                            _ => p.rule_name.clone(),
                        },
                        amount: Some(-share.amount),
                    });
                }
            }
            ItemRow {
                name: match lang {
                    Lang::En if !l.line.name_en.is_empty() => l.line.name_en.clone(),
                    _ => l.line.name.clone(),
                },
                qty: l.line.qty,
                unit: (l.line.unit == Unit::Kg).then(|| "kg".to_string()),
                unit_price: l.unit_price,
                amount: l.amounts.gross,
                notes,
            }
        })
        .collect();

    let t = &sale.totals;
    let mut totals = vec![TotalRow {
        label: w.subtotal.into(),
        amount: t.subtotal,
        emphasis: false,
    }];
    let promo: Decimal = sale.lines.iter().map(|l| l.promo_discount).sum();
    if !promo.is_zero() {
        totals.push(TotalRow {
            label: w.promotions.into(),
            amount: -promo,
            emphasis: false,
        });
    }
    if t.line_discounts != promo {
        totals.push(TotalRow {
            label: w.line_discounts.into(),
            amount: promo - t.line_discounts,
            emphasis: false,
        });
    }
    if !t.order_discount.is_zero() {
        let reason = sale
            .order_discount
            .as_ref()
            .map(|d| format!(" ({})", d.reason))
            .unwrap_or_default();
        totals.push(TotalRow {
            label: format!("{}{reason}", w.order_discount),
            amount: -t.order_discount,
            emphasis: false,
        });
    }
    if !sale.rounding.is_zero() {
        totals.push(TotalRow {
            label: w.rounding.into(),
            amount: sale.rounding,
            emphasis: false,
        });
    }
    totals.push(TotalRow {
        label: match sale.kind {
            SaleKind::Sale => w.total.into(),
            SaleKind::Return => w.refund_total.into(),
        },
        amount: sale.settled(),
        emphasis: true,
    });
    totals.push(TotalRow {
        label: w.tax_included.into(),
        amount: t.tax,
        emphasis: false,
    });

    ReceiptDoc {
        logo_png: None,
        header,
        title: Some(
            match sale.kind {
                SaleKind::Sale => w.sale,
                SaleKind::Return => w.ret,
            }
            .into(),
        ),
        meta,
        labels: match lang {
            Lang::Zh => ColumnLabels::chinese(),
            Lang::En => ColumnLabels::english(),
        },
        items,
        totals,
        tax_summary: sale
            .tax_summary
            .iter()
            .map(|x| TaxRow {
                rate: (x.rate * Decimal::ONE_HUNDRED).normalize(),
                taxable: x.taxable,
                tax: x.tax,
            })
            .collect(),
        tenders: sale
            .tenders
            .iter()
            .map(|x| {
                let mut label = tender_label(x.kind, lang).to_string();
                if let Some(reference) = &x.reference {
                    label = format!("{label} {reference}");
                }
                if let Some(points) = x.points {
                    label = match lang {
                        Lang::Zh => format!("{label} {points}分"),
                        Lang::En => format!("{label} {points} pts"),
                    };
                }
                AmountLine::new(label, x.amount)
            })
            .collect(),
        change: (!sale.change.is_zero()).then(|| AmountLine::new(w.change, sale.change)),
        member: match &r.member {
            Some(m) => {
                let mut lines = vec![LabelValue::new(
                    w.member,
                    format!("{} {}", m.name, m.phone_masked).trim().to_string(),
                )];
                if sale.member_points != 0 {
                    lines.push(LabelValue::new(
                        w.points_now,
                        format!("{:+}", sale.member_points),
                    ));
                }
                lines.push(LabelValue::new(w.points_balance, m.points.to_string()));
                lines
            }
            None => Vec::new(),
        },
        coupons: sale
            .coupons
            .iter()
            .map(|c| match lang {
                Lang::Zh => format!("已使用：{}（券号 {}-{}）", c.name, c.campaign_id, c.serial),
                Lang::En => format!(
                    "Used: {} (coupon {}-{})",
                    if c.name_en.is_empty() {
                        &c.name
                    } else {
                        &c.name_en
                    },
                    c.campaign_id,
                    c.serial
                ),
            })
            .collect(),
        footer: w.footer.iter().map(|s| s.to_string()).collect(),
        barcode: Some(r.barcode.clone()),
        qr: settings.receipt_qr.as_ref().map(|template| QrBlock {
            data: template.replace("{receipt_no}", &sale.ctx.receipt_no),
            caption: Some(w.qr_caption.into()),
        }),
        decimals: settings.minor_units(),
    }
}
