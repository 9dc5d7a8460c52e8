//! Example receipts: what the terminal's mapping from a sale should produce. Used by the golden
//! tests and handy for a "print test page" button.

use super::{
    AmountLine, ColumnLabels, ItemNote, ItemRow, LabelValue, QrBlock, ReceiptDoc, TaxRow, TotalRow,
};
use rust_decimal::Decimal;

fn d(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

/// A Chinese sale: weighed goods, a member discount, a coupon, two tenders, points, QR.
pub fn chinese_sale() -> ReceiptDoc {
    ReceiptDoc {
        logo_png: None,
        header: vec![
            "石头便利店（人民路店）".into(),
            "上海市黄浦区人民路100号".into(),
            "电话：021-6321 0000".into(),
            "税号：91310101MA1FP0XX3K".into(),
        ],
        title: Some("销售小票".into()),
        meta: vec![
            LabelValue::new("单号：", "S01-T02-000153"),
            LabelValue::new("收银员：", "张丽 (1002)"),
            LabelValue::new("时间：", "2025-03-08 14:23:05"),
        ],
        labels: ColumnLabels::chinese(),
        items: vec![
            ItemRow {
                name: "农夫山泉饮用天然水550ml".into(),
                qty: d(2, 0),
                unit: None,
                unit_price: d(200, 2),
                amount: d(400, 2),
                notes: vec![],
            },
            ItemRow {
                name: "红富士苹果（散装）".into(),
                qty: d(1256, 3),
                unit: Some("kg".into()),
                unit_price: d(1280, 2),
                amount: d(1608, 2),
                notes: vec![ItemNote {
                    text: "会员9折".into(),
                    amount: Some(d(-161, 2)),
                }],
            },
            ItemRow {
                name: "维达超韧抽纸3层130抽×6包".into(),
                qty: d(1, 0),
                unit: None,
                unit_price: d(2590, 2),
                amount: d(2590, 2),
                notes: vec![ItemNote {
                    text: "满25减5券".into(),
                    amount: Some(d(-500, 2)),
                }],
            },
        ],
        totals: vec![
            TotalRow {
                label: "商品合计".into(),
                amount: d(4598, 2),
                emphasis: false,
            },
            TotalRow {
                label: "优惠合计".into(),
                amount: d(-661, 2),
                emphasis: false,
            },
            TotalRow {
                label: "应付 ￥".into(),
                amount: d(3937, 2),
                emphasis: true,
            },
        ],
        tax_summary: vec![
            TaxRow {
                rate: d(13, 0),
                taxable: d(2549, 2),
                tax: d(331, 2),
            },
            TaxRow {
                rate: d(9, 0),
                taxable: d(1054, 2),
                tax: d(95, 2),
            },
        ],
        tenders: vec![
            AmountLine::new("微信支付", d(2000, 2)),
            AmountLine::new("现金", d(2000, 2)),
        ],
        change: Some(AmountLine::new("找零", d(63, 2))),
        member: vec![
            LabelValue::new("会员：", "138****5678"),
            LabelValue::new("本次积分：", "+39"),
            LabelValue::new("积分余额：", "1,288"),
        ],
        coupons: vec!["已使用：满25减5券（券号 C2025-0301）".into()],
        footer: vec![
            "谢谢惠顾，欢迎再次光临！".into(),
            "凭小票7日内可退换，生鲜食品除外。".into(),
        ],
        barcode: Some("RCS01-T02-000153".into()),
        qr: Some(QrBlock {
            data: "https://r.tillstone.cn/e/S01-T02-000153".into(),
            caption: Some("扫码开电子发票".into()),
        }),
        decimals: 2,
    }
}

/// An English sale on the same model.
pub fn english_sale() -> ReceiptDoc {
    ReceiptDoc {
        logo_png: None,
        header: vec![
            "Tillstone Market".into(),
            "100 Renmin Road, Shanghai".into(),
            "Tel 021-6321 0000".into(),
        ],
        title: Some("SALES RECEIPT".into()),
        meta: vec![
            LabelValue::new("Receipt", "S01-T02-000154"),
            LabelValue::new("Cashier", "Li Zhang (1002)"),
            LabelValue::new("Time", "2025-03-08 14:31:40"),
        ],
        labels: ColumnLabels::english(),
        items: vec![
            ItemRow {
                name: "Organic whole milk 1L".into(),
                qty: d(2, 0),
                unit: None,
                unit_price: d(1550, 2),
                amount: d(3100, 2),
                notes: vec![],
            },
            ItemRow {
                name: "Extra virgin olive oil, cold pressed, 750ml bottle".into(),
                qty: d(1, 0),
                unit: None,
                unit_price: d(8900, 2),
                amount: d(8900, 2),
                notes: vec![ItemNote {
                    text: "Promo 10% off".into(),
                    amount: Some(d(-890, 2)),
                }],
            },
        ],
        totals: vec![
            TotalRow {
                label: "Subtotal".into(),
                amount: d(12000, 2),
                emphasis: false,
            },
            TotalRow {
                label: "Discounts".into(),
                amount: d(-890, 2),
                emphasis: false,
            },
            TotalRow {
                label: "TOTAL CNY".into(),
                amount: d(11110, 2),
                emphasis: true,
            },
        ],
        tax_summary: vec![TaxRow {
            rate: d(13, 0),
            taxable: d(9832, 2),
            tax: d(1278, 2),
        }],
        tenders: vec![AmountLine::new("Card", d(11110, 2))],
        change: Some(AmountLine::new("Change", Decimal::ZERO)),
        member: vec![],
        coupons: vec![],
        footer: vec!["Thank you for shopping with us!".into()],
        barcode: Some("RCS01-T02-000154".into()),
        qr: None,
        decimals: 2,
    }
}
