-- Coupons as data in the back office (issue 9): a line the cart shows under the coupon's
-- name (`Cart.coupon.description`; empty reads as null).
ALTER TABLE coupons ADD COLUMN description text NOT NULL DEFAULT '';
